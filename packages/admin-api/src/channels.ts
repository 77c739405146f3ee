import { randomBytes } from "node:crypto";
import { HttpError, type Channel } from "@cb/core";
import { Telegram, TelegramError } from "telegraf";

/** What each channel needs, and what its platform is told. */
export const REQUIRED: Record<Channel, { credentials: string[]; config: string[] }> = {
  telegram: { credentials: ["botToken"], config: [] },
  whatsapp: { credentials: ["accessToken", "appSecret"], config: ["phoneNumberId"] },
  messenger: { credentials: ["pageAccessToken", "appSecret"], config: ["pageId"] },
  slack: { credentials: ["botToken", "signingSecret"], config: [] },
  // The key the business signs its users' ids with (identity verification); anonymous visitors need nothing.
  webchat: { credentials: ["identitySecret"], config: [] },
};

export function checkRequired(
  channel: Channel,
  credentials: Record<string, string>,
  config: Record<string, unknown>,
): void {
  const missing = [
    ...REQUIRED[channel].credentials.filter((k) => !credentials[k]).map((k) => `credentials.${k}`),
    ...REQUIRED[channel].config.filter((k) => config[k] === undefined || config[k] === "").map((k) => `config.${k}`),
  ];
  if (missing.length)
    throw new HttpError(400, "validation_failed", `a ${channel} account needs ${missing.join(", ")}`, { missing });
  // Only an OAuth installation, whose team Slack itself proved, may be routed by team id (the shared
  // Slack URL): a body that claimed it could take another tenant's workspace events.
  if ("installedVia" in config)
    throw new HttpError(400, "validation_failed", "config.installedVia is set by an OAuth installation, not by hand", {
      field: "config.installedVia",
    });
}

/** A random token for a platform to send back (Telegram secret_token, Meta verify token). */
export const generateToken = () => randomBytes(24).toString("base64url");

export function telegramClient(botToken: string, env: Record<string, string | undefined>): Telegram {
  return new Telegram(botToken, { apiRoot: env.TELEGRAM_API_ROOT ?? "https://api.telegram.org", webhookReply: false });
}

/** Telegram's answer to a failed call, as a 4xx/502 for our caller; never the token. */
export function telegramFailure(err: unknown, doing: string): HttpError {
  if (err instanceof TelegramError) {
    if (err.code === 401 || err.code === 404)
      return new HttpError(400, "invalid_bot_token", "Telegram does not accept this bot token");
    return new HttpError(502, "platform_error", `Telegram refused to ${doing}: ${err.description}`);
  }
  return new HttpError(502, "platform_unreachable", `could not reach Telegram to ${doing}`);
}
