// The HTTP role on its own (production: one or more behind a load balancer; workers run apart).
import { startTracing } from "@cb/observability";
import { loadRoleConfig, openRuntime } from "@cb/runtime";
import { startWebRole } from "./role.ts";

// Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER) is set; OTEL_SERVICE_NAME overrides the name.
const tracing = startTracing({ serviceName: "chatbot-web" });
const runtime = await openRuntime(loadRoleConfig("web"));
const web = await startWebRole(runtime);

async function shutdown(signal: string) {
  web.app.log.info({ signal }, "shutting down: finishing in-flight requests");
  await web.close();
  await runtime.close();
  await tracing.shutdown();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
