import { adminApi, authenticateApiKey, type AdminApiOptions } from "@cb/admin-api";
import { notificationsIntake } from "@cb/notifications";
import { missingSettings, type ChannelDriver, type LiveUpdates } from "@cb/core";
import type { AccountDirectory, Ingestor } from "@cb/conversation";
import type { Db, Pool } from "@cb/db";
import type { Logger } from "@cb/logging";
import { metricsRoute } from "@cb/observability";
import type { Sealer } from "@cb/secrets";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from "fastify";
import { operatorConsole } from "./console.ts";
import { clientErrorHandler, registerErrorHandling } from "./errors.ts";
import { registerForgeryLimit, type ForgeryLimitOptions } from "./forgery-limit.ts";
import { health } from "./health.ts";
import { installationSaver } from "./installations.ts";
import { observeWebhooks } from "./observability.ts";

export interface ServerDeps {
  db: Db;
  accounts: AccountDirectory;
  ingestor: Ingestor;
  drivers: readonly ChannelDriver[];
  /**
   * The process's pool and live updates, for channels that serve their visitors themselves (web chat:
   * its history, its visitors' limits, and replies stored by any process reaching the stream held here).
   */
  pool?: Pool;
  live?: LiveUpdates;
  /** The admin API's options; without them the server only takes webhooks. */
  admin?: AdminApiOptions;
  /** The channel drivers' deployment settings by name (their `appSecrets`, their `install` flows). */
  settings?: Readonly<Record<string, string | undefined>>;
  /**
   * With it, the install flow of each driver that has one (ChannelDriver.install) and all of whose
   * required settings are set is served: installations are sealed with `sealer`, and the platform
   * sends the browser back to `baseUrl` (PUBLIC_BASE_URL).
   */
  install?: { sealer: Sealer; baseUrl: string };
  bodyLimit?: number;
  /** The process logger (@cb/logging: redaction included); without it the server logs nothing. */
  logger?: Logger;
  /** Refuse sources that keep failing verification (the web role always sets it). */
  forgeryLimit?: ForgeryLimitOptions;
  /** The operator console's built files (apps/console/dist), served at /console. */
  consoleDir?: string;
  /** Whom to believe about the client's address (fastify's trustProxy): needed behind a proxy. */
  trustProxy?: FastifyServerOptions["trustProxy"];
  /** GET /metrics: served when given; `token` (METRICS_TOKEN) then required as a bearer token. */
  metrics?: { token?: string | undefined };
}

/** A driver's deployment secrets: each option's setting, when set. */
const appSecrets = (wanted: Readonly<Record<string, string>>, settings: Readonly<Record<string, string | undefined>>) =>
  Object.fromEntries(Object.entries(wanted).map(([option, name]) => [option, settings[name]]));

/**
 * The HTTP role. Each channel's webhook plugin is mounted in its own encapsulated context at
 * /webhooks/<channel>: its body parsers and hooks stay its own.
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    // pino's Logger, as Fastify's own base type, so the instance keeps the type every plugin expects.
    ...(deps.logger ? { loggerInstance: deps.logger as FastifyBaseLogger } : { logger: false }),
    // Let in-flight requests finish on close; refuse new ones meanwhile.
    forceCloseConnections: "idle",
    // Query strings need their numbers coerced; a string must never pass for a list. A field a schema does
    // not know is refused (400), not silently dropped (fastify's default), so a typo is never ignored.
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false } },
    return503OnClosing: true,
    clientErrorHandler,
    ...(deps.trustProxy !== undefined ? { trustProxy: deps.trustProxy } : {}),
    // A path that is not valid percent-encoded UTF-8 never reaches a route or the error handler.
    frameworkErrors: (error, _request, reply) =>
      (reply as FastifyReply)
        .code(400)
        .send({ error: { code: "bad_url", message: error.message.replace(/^'[^']*' /, "the path ") } }),
  });
  // A keep-alive connection whose request is in flight at close would hold the shutdown up until
  // its client drops it (keepAliveTimeout, 72 s): a response sent while closing ends its connection.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });
  registerErrorHandling(app);
  // Before the forgery limit, so that the webhooks it refuses are counted too.
  observeWebhooks(
    app,
    deps.drivers.map((d) => d.name),
  );
  if (deps.forgeryLimit) registerForgeryLimit(app, deps.forgeryLimit);
  await app.register(health, { db: deps.db });
  if (deps.metrics) await app.register(metricsRoute, deps.metrics);
  for (const driver of deps.drivers) {
    await app.register(driver.webhook, {
      prefix: `/webhooks/${driver.name}`,
      loadAccount: (id) => deps.accounts.load(driver.name, id),
      ingest: (account, events) => deps.ingestor.ingest(account, events),
      findAccount: (match) => deps.accounts.find(driver.name, match),
      disableAccount: (account) => deps.accounts.disable(account.id),
      ...(deps.pool ? { pool: deps.pool } : {}),
      ...(deps.live ? { live: deps.live } : {}),
      ...(driver.appSecrets ? { appSecrets: appSecrets(driver.appSecrets, deps.settings ?? {}) } : {}),
    });
  }
  if (deps.install) {
    const { sealer, baseUrl } = deps.install;
    const settings = deps.settings ?? {};
    for (const driver of deps.drivers) {
      const install = driver.install;
      if (!install || missingSettings(install, settings).length) continue;
      await app.register(install.routes, {
        settings,
        baseUrl: baseUrl.replace(/\/$/, ""),
        saveInstallation: installationSaver(deps.db, sealer, { ...driver, install }, (id) =>
          deps.accounts.invalidate(id),
        ),
      });
    }
  }
  if (deps.consoleDir) await app.register(operatorConsole, { dir: deps.consoleDir });
  if (deps.admin) {
    const { db, sealer } = deps.admin;
    await app.register(adminApi, {
      ...deps.admin,
      // Order systems post events here (signed, or CloudEvents with an API key), documented with the admin API.
      routes: [async (api) => api.register(notificationsIntake, { db, sealer, authenticateApiKey })],
    });
  }
  return app;
}
