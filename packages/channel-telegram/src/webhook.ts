import { timingSafeEqual } from "node:crypto";
import {
  HttpError,
  normalizeVerified,
  assertNotTooDeep,
  type ChannelAccount,
  type WebhookPluginOptions,
} from "@cb/core";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { Update } from "telegraf/types";
import { normalize } from "./normalize.ts";
import type { TelegramSecrets } from "./driver.ts";

export const SECRET_HEADER = "x-telegram-bot-api-secret-token";

/** Constant-time comparison, so response timing reveals nothing of the expected token. */
export function secretTokenMatches(received: string | string[] | undefined, expected: string): boolean {
  if (typeof received !== "string") return false;
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

declare module "fastify" {
  interface FastifyRequest {
    telegramAccount?: ChannelAccount;
  }
}

/**
 * POST /:accountId — one route per connected bot. The account and its secret token are checked in
 * onRequest, before the body is even parsed, so an unverified request costs little and stores nothing.
 */
export const webhook: FastifyPluginAsync<WebhookPluginOptions> = async (app, options) => {
  app.decorateRequest("telegramAccount", undefined);

  async function verify(request: FastifyRequest<{ Params: { accountId: string } }>) {
    const account = await options.loadAccount(request.params.accountId);
    if (!account) throw new HttpError(404, "unknown_account", "no Telegram bot is connected at this URL");
    const secrets = account.secrets as unknown as TelegramSecrets;
    if (!secretTokenMatches(request.headers[SECRET_HEADER], secrets.secretToken)) {
      throw new HttpError(401, "invalid_secret_token", `missing or wrong ${SECRET_HEADER} header`);
    }
    request.telegramAccount = account;
  }

  app.post<{ Params: { accountId: string }; Body: Update }>("/:accountId", { onRequest: verify }, async (request) => {
    const update = request.body;
    assertNotTooDeep(update, "update");
    // null, a string, an array…: none has a numeric update_id.
    if (typeof update?.update_id !== "number") {
      throw new HttpError(400, "invalid_update", "the body is not a Telegram Update (update_id missing)");
    }
    const account = request.telegramAccount!;
    const config = account.config as { botId?: number; username?: string };
    const events = await normalizeVerified(request.log, "Telegram", () =>
      normalize(update, {
        ...(config.botId ? { id: config.botId } : {}),
        ...(config.username ? { username: config.username } : {}),
      }),
    );
    if (events.length) await options.ingest(account, events);
    return { ok: true };
  });
};
