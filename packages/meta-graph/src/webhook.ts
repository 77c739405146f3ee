import { timingSafeEqual } from "node:crypto";
import {
  HttpError,
  normalizeVerified,
  assertNotTooDeep,
  type ChannelAccount,
  type InboundEvent,
  type WebhookPluginOptions,
} from "@cb/core";
import type { FastifyPluginAsync } from "fastify";
import { hubSignatureValid } from "./signature.ts";

export interface MetaSecrets {
  appSecret: string;
  verifyToken: string;
}

function sameToken(a: unknown, b: string): boolean {
  if (typeof a !== "string") return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The webhook routes both Meta platforms use: GET answers the verification handshake
 * (hub.mode=subscribe, hub.verify_token, hub.challenge), POST checks X-Hub-Signature-256 over the
 * raw body before parsing it, then hands the parsed payload to the channel's normalizer.
 */
export function metaWebhook(options: {
  /** The payload's `object`: whatsapp_business_account, page, instagram. */
  object: string;
  channel: string;
  normalize: (body: unknown, account: ChannelAccount) => InboundEvent[];
}): FastifyPluginAsync<WebhookPluginOptions> {
  return async (app, plugin) => {
    app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

    async function account(id: string): Promise<ChannelAccount> {
      const found = await plugin.loadAccount(id);
      if (!found) throw new HttpError(404, "unknown_account", `no ${options.channel} account is connected at this URL`);
      return found;
    }

    app.get<{ Params: { accountId: string }; Querystring: Record<string, string> }>(
      "/:accountId",
      async (request, reply) => {
        const found = await account(request.params.accountId);
        const q = request.query;
        const secrets = found.secrets as unknown as MetaSecrets;
        if (q["hub.mode"] !== "subscribe" || !sameToken(q["hub.verify_token"], secrets.verifyToken)) {
          throw new HttpError(403, "verification_failed", "hub.mode must be subscribe and hub.verify_token must match");
        }
        return reply.type("text/plain").send(q["hub.challenge"] ?? "");
      },
    );

    app.post<{ Params: { accountId: string }; Body: Buffer }>("/:accountId", async (request) => {
      const found = await account(request.params.accountId);
      const secrets = found.secrets as unknown as MetaSecrets;
      if (
        !Buffer.isBuffer(request.body) ||
        !hubSignatureValid(request.body, request.headers["x-hub-signature-256"], secrets.appSecret)
      ) {
        throw new HttpError(401, "invalid_signature", "missing or wrong X-Hub-Signature-256");
      }
      let body: { object?: unknown };
      try {
        body = JSON.parse(request.body.toString("utf8"));
      } catch {
        throw new HttpError(400, "invalid_json", "the body is not valid JSON");
      }
      assertNotTooDeep(body, "payload");
      if (body?.object !== options.object)
        throw new HttpError(400, "invalid_payload", `expected object "${options.object}"`);
      const events = await normalizeVerified(request.log, options.channel, () => options.normalize(body, found));
      if (events.length) await plugin.ingest(found, events);
      return { ok: true };
    });
  };
}
