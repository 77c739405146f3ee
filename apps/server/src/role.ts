import { createIngestor } from "@cb/conversation";
import type { Runtime } from "@cb/runtime";
import type { FastifyInstance } from "fastify";
import { buildServer } from "./app.ts";
import { slackInstallationSaver } from "./slack-installations.ts";

export async function startWebRole(
  runtime: Runtime,
  options: { host?: string; port?: number } = {},
): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const { config } = runtime;
  const ingestor = createIngestor({ connectionString: runtime.databaseUrl, logger: runtime.logger });
  const slackOAuth =
    config.SLACK_CLIENT_ID && config.SLACK_CLIENT_SECRET && config.SLACK_SIGNING_SECRET && config.SLACK_STATE_SECRET
      ? {
          clientId: config.SLACK_CLIENT_ID,
          clientSecret: config.SLACK_CLIENT_SECRET,
          stateSecret: config.SLACK_STATE_SECRET,
          redirectUri: `${config.PUBLIC_BASE_URL ?? `http://${config.HOST}:${config.PORT}`}/slack/oauth_redirect`,
          apiUrl: config.SLACK_API_URL,
          authorizationUrl: config.SLACK_AUTHORIZE_URL,
          saveInstallation: slackInstallationSaver(runtime.db, runtime.sealer, config.SLACK_SIGNING_SECRET, (id) =>
            runtime.accounts.invalidate(id),
          ),
        }
      : undefined;
  const app = await buildServer({
    db: runtime.db,
    accounts: runtime.accounts,
    ingestor,
    drivers: runtime.drivers,
    admin: {
      db: runtime.db,
      sealer: runtime.sealer,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      channelEnv: runtime.channelEnv,
      operatorToken: config.ADMIN_TOKEN,
      onAccountChanged: (id) => runtime.accounts.invalidate(id),
      slackInstall: slackOAuth ? { stateSecret: slackOAuth.stateSecret } : undefined,
    },
    slackApp: { signingSecret: config.SLACK_SIGNING_SECRET, oauth: slackOAuth },
    bodyLimit: config.BODY_LIMIT_BYTES,
    forgeryLimit: { pool: runtime.pool },
    // "true", or the proxies' addresses and CIDRs, comma-separated (fastify's trustProxy).
    ...(config.TRUST_PROXY ? { trustProxy: config.TRUST_PROXY === "true" ? true : config.TRUST_PROXY } : {}),
    logger: runtime.logger,
    metrics: { token: config.METRICS_TOKEN },
  });
  const url = await app.listen({ host: options.host ?? config.HOST, port: options.port ?? config.PORT });
  return {
    app,
    url,
    async close() {
      await app.close();
      await ingestor.close();
    },
  };
}
