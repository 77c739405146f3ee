import { createLiveHub } from "@cb/admin-api";
import { createIngestor } from "@cb/conversation";
import type { OperatorOptions } from "@cb/admin-api";
import { createEgress, parsePolicy } from "@cb/egress";
import type { Config, Runtime } from "@cb/runtime";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { buildServer } from "./app.ts";
import { CONSOLE_PREFIX, consoleBuilt } from "./console.ts";

/** Where `npm run build` puts the console in this repository. */
const BUILT_CONSOLE = fileURLToPath(new URL("../../console/dist", import.meta.url));

/** Operators' sessions and their cookie, from the settings. */
export function operatorOptions(config: Config): OperatorOptions {
  return {
    sessions: { idleMs: config.SESSION_IDLE_HOURS * 3_600_000, absoluteMs: config.SESSION_MAX_DAYS * 86_400_000 },
    secureCookie: config.SESSION_COOKIE_SECURE,
  };
}

export async function startWebRole(
  runtime: Runtime,
  options: { host?: string; port?: number } = {},
): Promise<{ app: FastifyInstance; url: string; consoleUrl: string | undefined; close(): Promise<void> }> {
  const { config } = runtime;
  const consoleDir = config.CONSOLE_DIR ?? BUILT_CONSOLE;
  const withConsole = consoleBuilt(consoleDir);
  if (!withConsole) runtime.logger.warn({ consoleDir }, "no built operator console there: run `npm run build`");
  const ingestor = createIngestor({ connectionString: runtime.databaseUrl, logger: runtime.logger });
  // One listening connection for the process, whatever the number of open streams.
  const live = createLiveHub({ connectionString: runtime.databaseUrl, logger: runtime.logger });
  // Fulfillment replays from the admin API go out under the same policy as the workers' calls.
  const egress = createEgress(parsePolicy(config), {
    onBlocked: (detail) => runtime.logger.warn({ detail }, "egress refused: not a public address"),
  });
  const app = await buildServer({
    db: runtime.db,
    accounts: runtime.accounts,
    ingestor,
    drivers: runtime.drivers,
    pool: runtime.pool,
    live,
    admin: {
      db: runtime.db,
      sealer: runtime.sealer,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      channelEnv: runtime.channelEnv,
      operatorToken: config.ADMIN_TOKEN,
      onAccountChanged: (id) => runtime.accounts.invalidate(id),
      live,
      channelSettings: config.channelSettings,
      egress,
      operators: operatorOptions(config),
    },
    settings: config.channelSettings,
    install: { sealer: runtime.sealer, baseUrl: config.PUBLIC_BASE_URL ?? `http://${config.HOST}:${config.PORT}` },
    bodyLimit: config.BODY_LIMIT_BYTES,
    forgeryLimit: { pool: runtime.pool },
    // "true", or the proxies' addresses and CIDRs, comma-separated (fastify's trustProxy).
    ...(config.TRUST_PROXY ? { trustProxy: config.TRUST_PROXY === "true" ? true : config.TRUST_PROXY } : {}),
    logger: runtime.logger,
    ...(withConsole ? { consoleDir } : {}),
    metrics: { token: config.METRICS_TOKEN },
  });
  const url = await app.listen({ host: options.host ?? config.HOST, port: options.port ?? config.PORT });
  return {
    app,
    url,
    consoleUrl: withConsole ? `${config.PUBLIC_BASE_URL ?? url}${CONSOLE_PREFIX}/` : undefined,
    async close() {
      await app.close();
      await ingestor.close();
      await live.close();
      await egress.close();
    },
  };
}
