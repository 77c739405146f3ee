// The HTTP role on its own (production: one or more behind a load balancer; workers run apart).
import { loadRoleConfig, openRuntime } from "@cb/runtime";
import { startWebRole } from "./role.ts";

const runtime = await openRuntime(loadRoleConfig("web"));
const web = await startWebRole(runtime);

async function shutdown(signal: string) {
  web.app.log.info({ signal }, "shutting down: finishing in-flight requests");
  await web.close();
  await runtime.close();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
