import { HttpError, type ChannelAccount, type InboundEvent, type WebhookPluginOptions } from "@cb/core";
import { isValidSlackRequest, type App } from "@slack/bolt";
import type { FastifyPluginAsync } from "fastify";
import { createBoltApp, type SlackSecrets } from "./bolt.ts";

/**
 * POST /:accountId takes Events API callbacks (JSON) and interactivity (form-encoded `payload=`).
 * The signature (v0, 5-minute window) is checked with Bolt's own verifier over the raw body before
 * anything else; the event then goes through the account's Bolt App, and Slack is acknowledged
 * only once what it sent is stored.
 */
export function slackWebhook(now: () => number = Date.now): FastifyPluginAsync<WebhookPluginOptions> {
  return async (app, options) => {
    const bolts = new Map<string, { account: ChannelAccount; bolt: App }>();
    const boltFor = (account: ChannelAccount) => {
      const cached = bolts.get(account.id);
      // A changed account (new token) gets a new App.
      if (cached && cached.account.secrets.botToken === account.secrets.botToken) return cached.bolt;
      // Listeners only normalize, so the App's Web API client is never used here.
      const bolt = createBoltApp(account, {});
      bolts.set(account.id, { account, bolt });
      return bolt;
    };

    const raw = (_request: unknown, body: Buffer, done: (err: null, body: Buffer) => void) => done(null, body);
    app.addContentTypeParser("application/json", { parseAs: "buffer" }, raw);
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer" }, raw);

    app.post<{ Params: { accountId: string }; Body: Buffer }>("/:accountId", async (request, reply) => {
      const account = await options.loadAccount(request.params.accountId);
      if (!account) throw new HttpError(404, "unknown_account", "no Slack workspace is connected at this URL");
      const body = Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "";
      const { signingSecret } = account.secrets as unknown as SlackSecrets;
      const valid = isValidSlackRequest({
        signingSecret,
        body,
        headers: { "x-slack-signature": String(request.headers["x-slack-signature"] ?? ""), "x-slack-request-timestamp": Number(request.headers["x-slack-request-timestamp"]) },
        nowMilliseconds: now(),
      });
      if (!valid) throw new HttpError(401, "invalid_signature", "missing, wrong or stale X-Slack-Signature");

      let payload: Record<string, unknown>;
      try {
        const form = request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded");
        const interactive = form ? new URLSearchParams(body).get("payload") : null;
        // Slash commands (form posts without `payload`) are not routed here.
        if (form && interactive === null) return reply.code(200).send();
        payload = JSON.parse(form ? interactive! : body);
      } catch {
        throw new HttpError(400, "invalid_payload", "the body is not a Slack event or interaction");
      }
      if (payload.type === "url_verification") return { challenge: payload.challenge };

      const events: InboundEvent[] = [];
      const retry = Number(request.headers["x-slack-retry-num"]);
      await boltFor(account).processEvent({
        body: payload,
        ack: async () => {},
        ...(Number.isFinite(retry) ? { retryNum: retry, retryReason: String(request.headers["x-slack-retry-reason"] ?? "") } : {}),
        customProperties: { collect: (found: InboundEvent[]) => events.push(...found) },
      });
      // A redelivery carries the same event_id: the store keeps it once.
      if (events.length) await options.ingest(account, events);
      return reply.code(200).send();
    });
  };
}
