// The job role on its own (production: as many as the load needs, on one database).
import { startTracing } from "@cb/observability";
import { loadRoleConfig, openRuntime } from "@cb/runtime";
import { startWorkerHealth } from "./health.ts";
import { startWorkerRole } from "./role.ts";

const config = loadRoleConfig("worker");
// Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER) is set; OTEL_SERVICE_NAME overrides the name.
const tracing = startTracing({ serviceName: "chatbot-worker" });
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
        metricsToken: config.METRICS_TOKEN,
      });
if (health) runtime.logger.info({ url: health.url }, "worker health on /healthz and /readyz, metrics on /metrics");

async function shutdown(signal: string) {
  runtime.logger.info({ signal }, "shutting down: finishing running jobs");
  await worker.stop();
  await health?.close();
  await runtime.close();
  await tracing.shutdown();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
