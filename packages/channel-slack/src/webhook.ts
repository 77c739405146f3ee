import { HttpError, type ChannelAccount, type InboundEvent, type WebhookPluginOptions } from "@cb/core";
import { isValidSlackRequest, type App } from "@slack/bolt";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { createBoltApp, type SlackConfig, type SlackSecrets } from "./bolt.ts";

/** The JSON a request carries: an Events API callback, or an interaction's form-encoded `payload`. */
// biome-ignore lint/suspicious/noExplicitAny: untyped platform JSON, read field by field by Bolt and the normalizer
function parse(request: FastifyRequest, body: string): Record<string, any> | "ignore" {
  try {
    const form = request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded");
    if (!form) return JSON.parse(body);
    const interactive = new URLSearchParams(body).get("payload");
    // Slash commands (form posts without `payload`) are not routed here.
    return interactive === null ? "ignore" : JSON.parse(interactive);
  } catch {
    throw new HttpError(400, "invalid_payload", "the body is not a Slack event or interaction");
  }
}

/**
 * Whether Slack says the account's bot can no longer act: the app was uninstalled, or the bot's
 * token revoked (tokens_revoked also reports revoked user tokens, which this app never uses).
 */
// biome-ignore lint/suspicious/noExplicitAny: untyped platform JSON
const botGone = (event: Record<string, any> | undefined) =>
  event?.type === "app_uninstalled" || (event?.type === "tokens_revoked" && event.tokens?.bot?.length > 0);

/**
 * Slack's Events API and interactivity, verified with Bolt's own verifier (v0, 5-minute window)
 * over the raw body before anything else, then run through the workspace's Bolt App; Slack is
 * acknowledged only once what it sent is stored.
 *
 * Two routes: `POST /:accountId` for a workspace connected with its own bot token and signing
 * secret, and `POST /` for the app installed through OAuth in many workspaces, where every
 * workspace's events share one URL and the team id names the account.
 */
export function slackWebhook(now: () => number = Date.now): FastifyPluginAsync<WebhookPluginOptions> {
  return async (app, options) => {
    // A workspace's App depends only on its bot's user id, which a reinstall may change.
    const bolts = new Map<string, { botUserId: string | undefined; bolt: App }>();
    const boltFor = (account: ChannelAccount) => {
      const { botUserId } = account.config as SlackConfig;
      const cached = bolts.get(account.id);
      if (cached && cached.botUserId === botUserId) return cached.bolt;
      const bolt = createBoltApp(account);
      bolts.set(account.id, { botUserId, bolt });
      return bolt;
    };

    const raw = (_request: unknown, body: Buffer, done: (err: null, body: Buffer) => void) => done(null, body);
    app.addContentTypeParser("application/json", { parseAs: "buffer" }, raw);
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer" }, raw);

    async function handle(request: FastifyRequest, reply: FastifyReply, account: ChannelAccount | null, body: string) {
      if (!account) throw new HttpError(404, "unknown_account", "no Slack workspace is connected at this URL");
      const { signingSecret } = account.secrets as unknown as SlackSecrets;
      const valid = isValidSlackRequest({
        signingSecret,
        body,
        headers: {
          "x-slack-signature": String(request.headers["x-slack-signature"] ?? ""),
          "x-slack-request-timestamp": Number(request.headers["x-slack-request-timestamp"]),
        },
        nowMilliseconds: now(),
      });
      if (!valid) throw new HttpError(401, "invalid_signature", "missing, wrong or stale X-Slack-Signature");
      const payload = parse(request, body);
      if (payload === "ignore") return reply.code(200).send();
      if (payload.type === "url_verification") return { challenge: payload.challenge };
      if (payload.type === "event_callback" && botGone(payload.event)) {
        await options.disableAccount?.(account, `Slack: ${payload.event.type}`);
        return reply.code(200).send();
      }

      const events: InboundEvent[] = [];
      await boltFor(account).processEvent({
        body: payload,
        ack: async () => {},
        customProperties: { collect: (found: InboundEvent[]) => events.push(...found) },
      });
      // A redelivery carries the same event_id: the store keeps it once.
      if (events.length) await options.ingest(account, events);
      return reply.code(200).send();
    }

    const text = (request: FastifyRequest) => (Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "");

    app.post<{ Params: { accountId: string } }>("/:accountId", async (request, reply) =>
      handle(request, reply, await options.loadAccount(request.params.accountId), text(request)),
    );

    app.post("/", async (request, reply) => {
      const body = text(request);
      const payload = parse(request, body);
      const appSecret = options.appSecrets?.signingSecret;
      // Slack checks the app's shared Request URL before any workspace has installed the app.
      if (payload !== "ignore" && payload.type === "url_verification" && appSecret) {
        return handle(
          request,
          reply,
          { id: "app", tenantId: "", channel: "slack", config: {}, secrets: { signingSecret: appSecret } },
          body,
        );
      }
      const teamId =
        payload === "ignore" ? new URLSearchParams(body).get("team_id") : (payload.team_id ?? payload.team?.id);
      const account = teamId && options.findAccount ? await options.findAccount({ teamId }) : null;
      return handle(request, reply, account, body);
    });
  };
}
