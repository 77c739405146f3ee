// The HTTP role on its own: `ROLE=web` in production, scaled out behind a load balancer.
import { loadConfig, openRuntime } from "@cb/runtime";
import { buildServer } from "./app.ts";

const config = loadConfig();
const runtime = await openRuntime(config, (line) => console.log(line));
const app = await buildServer({
  db: runtime.db,
  accounts: runtime.accounts,
  drivers: runtime.drivers,
  bodyLimit: config.BODY_LIMIT_BYTES,
  logger: { level: config.LOG_LEVEL },
});
await app.listen({ host: config.HOST, port: config.PORT });

async function shutdown(signal: string) {
  app.log.info({ signal }, "shutting down: finishing in-flight requests");
  await app.close();
  await runtime.close();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
