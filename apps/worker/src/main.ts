// The job role on its own (production: as many as the load needs, on one database).
import { loadRoleConfig, openRuntime } from "@cb/runtime";
import { startWorkerHealth } from "./health.ts";
import { startWorkerRole } from "./role.ts";

const config = loadRoleConfig("worker");
const runtime = await openRuntime(config);
const worker = await startWorkerRole(runtime);
const health =
  config.WORKER_HEALTH_PORT === undefined
    ? undefined
    : await startWorkerHealth({
        runner: worker.runner,
        pool: runtime.pool,
        host: config.HOST,
        port: config.WORKER_HEALTH_PORT,
      });
if (health) runtime.logger.info({ url: health.url }, "worker health on /healthz and /readyz");

async function shutdown(signal: string) {
  runtime.logger.info({ signal }, "shutting down: finishing running jobs");
  await worker.stop();
  await health?.close();
  await runtime.close();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
