// The job role on its own (production: as many as the load needs, on one database).
import { loadConfig, openRuntime } from "@cb/runtime";
import { startWorkerRole } from "./role.ts";

const runtime = await openRuntime(loadConfig(), (line) => console.log(line));
const worker = await startWorkerRole(runtime);

async function shutdown(signal: string) {
  console.log(`${signal}: finishing running jobs`);
  await worker.stop();
  await runtime.close();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
