import { createHmac, timingSafeEqual } from "node:crypto";
import type { ChannelInstall, InstallPluginOptions } from "@cb/core";
import { InstallProvider, type Installation } from "@slack/oauth";
import type { FastifyPluginAsync } from "fastify";

/**
 * An install ticket says which tenant a Slack installation is for: signed, short-lived, handed out
 * by the admin API, carried through Slack's OAuth flow as the install's metadata.
 */
export function installTicket(tenantId: string, secret: string, ttlMs = 3600_000, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ tenantId, exp: now + ttlMs })).toString("base64url");
  return `${payload}.${createHmac("sha256", secret).update(payload).digest("base64url")}`;
}

export function tenantOfTicket(ticket: string, secret: string, now = Date.now()): string | null {
  const [payload, mac] = ticket.split(".");
  if (!payload || !mac) return null;
  const expected = Buffer.from(createHmac("sha256", secret).update(payload).digest("base64url"));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  const { tenantId, exp } = JSON.parse(Buffer.from(payload, "base64url").toString()) as {
    tenantId: string;
    exp: number;
  };
  return exp > now ? tenantId : null;
}

export interface SlackInstallation {
  teamId: string;
  teamName?: string;
  botToken: string;
  botUserId: string;
  appId?: string;
}

export interface SlackOAuthOptions {
  clientId: string;
  clientSecret: string;
  /** Signs install tickets and OAuth state. */
  stateSecret: string;
  redirectUri: string;
  scopes?: string[];
  /** The Slack Web API (oauth.v2.access), a fake in tests. */
  apiUrl?: string | undefined;
  /** Slack's authorize page, `https://slack.com/oauth/v2/authorize` by default. */
  authorizationUrl?: string | undefined;
  saveInstallation(tenantId: string, installation: SlackInstallation): Promise<void>;
}

const page = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p>`;

/**
 * The OAuth v2 install flow for many workspaces, through Bolt's installer (@slack/oauth):
 * GET /slack/install?ticket=… checks the ticket, sets the state cookie and sends the user to Slack;
 * GET /slack/oauth_redirect checks state and cookie, exchanges the code (oauth.v2.access) and stores
 * the installation as the tenant's Slack channel account.
 */
export const slackOAuth: FastifyPluginAsync<SlackOAuthOptions> = async (app, options) => {
  const installer = new InstallProvider({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    stateSecret: options.stateSecret,
    directInstall: true,
    ...(options.authorizationUrl ? { authorizationUrl: options.authorizationUrl } : {}),
    clientOptions: { ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}), retryConfig: { retries: 0 } },
    installationStore: {
      storeInstallation: async (installation: Installation) => {
        if (!installation.team || !installation.bot || !installation.metadata)
          throw new Error("a workspace installation with a bot is required");
        await options.saveInstallation(installation.metadata, {
          teamId: installation.team.id,
          ...(installation.team.name ? { teamName: installation.team.name } : {}),
          botToken: installation.bot.token,
          botUserId: installation.bot.userId,
          ...(installation.appId ? { appId: installation.appId } : {}),
        });
      },
      // Bolt's authorize is not used here: accounts carry their own tokens.
      fetchInstallation: async () => {
        throw new Error("installations are read from channel accounts");
      },
    },
  });
  const scopes = options.scopes ?? ["chat:write", "im:history", "app_mentions:read"];

  app.get<{ Querystring: { ticket?: string } }>("/slack/install", async (request, reply) => {
    const tenantId = request.query.ticket ? tenantOfTicket(request.query.ticket, options.stateSecret) : null;
    if (!tenantId)
      return reply
        .code(403)
        .type("text/html")
        .send(page("Link expired", "Ask for a new install link in the admin API."));
    reply.hijack();
    await installer.handleInstallPath(
      request.raw,
      reply.raw,
      {},
      { scopes, redirectUri: options.redirectUri, metadata: tenantId },
    );
  });

  app.get("/slack/oauth_redirect", async (request, reply) => {
    reply.hijack();
    await installer.handleCallback(request.raw, reply.raw, {
      success: (installation, _options, _req, res) =>
        res
          .writeHead(200, { "content-type": "text/html" })
          .end(page("Installed", `The bot is ready in ${installation.team?.name ?? "your workspace"}.`)),
      failure: (error, _options, _req, res) =>
        res
          .writeHead(400, { "content-type": "text/html" })
          .end(
            page(
              "Installation failed",
              `Slack's answer could not be accepted (${error.code ?? "error"}). Start again from a new install link.`,
            ),
          ),
    });
  });
};

/**
 * The driver's install hook: the flow above, with the app's settings; each workspace becomes an
 * account keyed by its team id, whose events the app's signing secret verifies.
 */
export const install: ChannelInstall = {
  requires: ["SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET", "SLACK_STATE_SECRET"],
  accountKey: "teamId",
  link(tenantId, { settings, baseUrl, ttlMs }) {
    return `${baseUrl}/slack/install?ticket=${installTicket(tenantId, settings.SLACK_STATE_SECRET ?? "", ttlMs)}`;
  },
  routes: async (app, { settings, baseUrl, saveInstallation }: InstallPluginOptions) => {
    const setting = (name: string) => {
      const value = settings[name];
      if (!value) throw new Error(`${name} is not set`);
      return value;
    };
    const signingSecret = setting("SLACK_SIGNING_SECRET");
    await app.register(slackOAuth, {
      clientId: setting("SLACK_CLIENT_ID"),
      clientSecret: setting("SLACK_CLIENT_SECRET"),
      stateSecret: setting("SLACK_STATE_SECRET"),
      redirectUri: `${baseUrl}/slack/oauth_redirect`,
      apiUrl: settings.SLACK_API_URL,
      authorizationUrl: settings.SLACK_AUTHORIZE_URL,
      saveInstallation: (tenantId, installation) =>
        saveInstallation(tenantId, {
          name: installation.teamName ?? installation.teamId,
          config: {
            teamId: installation.teamId,
            botUserId: installation.botUserId,
            ...(installation.appId ? { appId: installation.appId } : {}),
          },
          secrets: { botToken: installation.botToken, signingSecret },
        }),
    });
  },
};
