import {
  HttpError,
  normalizeVerified,
  assertNotTooDeep,
  type ChannelAccount,
  type InboundEvent,
  type WebhookPluginOptions,
} from "@cb/core";
import { isValidSlackRequest, type App } from "@slack/bolt";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { createBoltApp } from "./bolt.ts";
import type { SlackConfig, SlackSecrets } from "./driver.ts";

// biome-ignore lint/suspicious/noExplicitAny: untyped platform JSON, read field by field by Bolt and the normalizer
type SlackBody = Record<string, any>;

/** The JSON a request carries: an Events API callback, or an interaction's form-encoded `payload`. */
function parse(request: FastifyRequest, body: string): SlackBody | "ignore" {
  let parsed: unknown;
  try {
    const form = request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded");
    const interactive = form ? new URLSearchParams(body).get("payload") : body;
    // Slash commands (form posts without `payload`) are not routed here.
    if (interactive === null) return "ignore";
    parsed = JSON.parse(interactive);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new HttpError(400, "invalid_payload", "the body is not a Slack event or interaction");
  assertNotTooDeep(parsed, "payload");
  return parsed as SlackBody;
}

/** Slack's team (workspace) and enterprise ids: T… / E… and capitals and digits. */
const TEAM_ID = /^[TE][A-Z0-9]{1,31}$/;
const FIVE_MINUTES_MS = 5 * 60 * 1000;

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

    /**
     * Bolt's verifier refuses a stale timestamp but not one from the future, so a signed request could
     * be held back and replayed later: its timestamp must also be within five minutes ahead.
     */
    function verify(request: FastifyRequest, body: string, signingSecret: string): void {
      const timestamp = Number(request.headers["x-slack-request-timestamp"]);
      const valid =
        timestamp * 1000 - now() <= FIVE_MINUTES_MS &&
        isValidSlackRequest({
          signingSecret,
          body,
          headers: {
            "x-slack-signature": String(request.headers["x-slack-signature"] ?? ""),
            "x-slack-request-timestamp": timestamp,
          },
          nowMilliseconds: now(),
        });
      if (!valid) throw new HttpError(401, "invalid_signature", "missing, wrong or stale X-Slack-Signature");
    }

    async function handle(
      request: FastifyRequest,
      reply: FastifyReply,
      account: ChannelAccount,
      body: string,
      parsed?: ReturnType<typeof parse>,
    ) {
      const payload = parsed ?? parse(request, body);
      if (payload === "ignore") return reply.code(200).send();
      if (payload.type === "url_verification") return { challenge: payload.challenge };
      if (payload.type === "event_callback" && botGone(payload.event)) {
        await options.disableAccount?.(account, `Slack: ${payload.event.type}`);
        return reply.code(200).send();
      }

      const events = await normalizeVerified(request.log, "Slack", async () => {
        const collected: InboundEvent[] = [];
        await boltFor(account).processEvent({
          body: payload,
          ack: async () => {},
          customProperties: { collect: (found: InboundEvent[]) => collected.push(...found) },
        });
        return collected;
      });
      // A redelivery carries the same event_id: the store keeps it once.
      if (events.length) await options.ingest(account, events);
      return reply.code(200).send();
    }

    const text = (request: FastifyRequest) => (Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "");

    app.post<{ Params: { accountId: string } }>("/:accountId", async (request, reply) => {
      // The account holds the signing secret, so it is read first (from a cache, for a known id).
      const account = await options.loadAccount(request.params.accountId);
      if (!account) throw new HttpError(404, "unknown_account", "no Slack workspace is connected at this URL");
      const body = text(request);
      verify(request, body, (account.secrets as unknown as SlackSecrets).signingSecret);
      return handle(request, reply, account, body);
    });

    // The app installed through OAuth: every workspace signs with the app's one signing secret, so the
    // request is verified before its body is parsed or the database is read. Only workspaces whose
    // team id Slack itself proved (the OAuth installation) are routed here; an account connected by
    // hand names its own URL, and the team id it might claim decides nothing.
    app.post("/", async (request, reply) => {
      const signingSecret = options.appSecrets?.signingSecret;
      if (!signingSecret) throw new HttpError(404, "unknown_account", "no Slack app is installed through OAuth here");
      const body = text(request);
      verify(request, body, signingSecret);
      const payload = parse(request, body);
      if (payload !== "ignore" && payload.type === "url_verification") return { challenge: payload.challenge };
      const teamId =
        payload === "ignore" ? new URLSearchParams(body).get("team_id") : (payload.team_id ?? payload.team?.id);
      const account =
        typeof teamId === "string" && TEAM_ID.test(teamId) && options.findAccount
          ? await options.findAccount({ teamId, installedVia: "oauth" })
          : null;
      if (!account) throw new HttpError(404, "unknown_account", "no Slack workspace is connected for this team");
      return handle(request, reply, account, body, payload);
    });
  };
}

/** The webhook the driver mounts: Slack's clock is the real one. */
export const webhook = slackWebhook();
