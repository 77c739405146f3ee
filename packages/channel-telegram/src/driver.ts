import { HttpError, randomToken, type ChannelAccount, type ChannelDriver, type ChannelEnvironment } from "@cb/core";
import { Telegram, TelegramError } from "telegraf";
import { Type, type Static } from "typebox";
import { policy } from "./policy.ts";
import { dialogflowCall, LIMITS, render } from "./render.ts";
import { apiRoot, createSender } from "./sender.ts";
import { SECRET_HEADER, webhook } from "./webhook.ts";
import { welcomeEvents } from "./normalize.ts";

export const Credentials = Type.Object({
  botToken: Type.String({ minLength: 1, description: "The token @BotFather gave the bot" }),
});
export const Config = Type.Object({
  botId: Type.Optional(Type.Integer({ description: "Set on connecting, from getMe" })),
  username: Type.Optional(Type.String({ description: "Set on connecting, from getMe" })),
});
/** What an account's sealed secrets hold: the bot token, and the secret token Telegram echoes on every update. */
export type TelegramSecrets = Static<typeof Credentials> & { secretToken: string };
export type TelegramConfig = Static<typeof Config>;

const client = (account: { secrets: Record<string, string> }, env: ChannelEnvironment) =>
  new Telegram(account.secrets.botToken!, { apiRoot: apiRoot(env), webhookReply: false });

/** Telegram's answer to a failed call, as a 4xx/502 for our caller; never the token. */
function failure(err: unknown, doing: string): HttpError {
  if (err instanceof TelegramError) {
    if (err.code === 401 || err.code === 404)
      return new HttpError(400, "invalid_bot_token", "Telegram does not accept this bot token");
    return new HttpError(502, "platform_error", `Telegram refused to ${doing}: ${err.description}`);
  }
  return new HttpError(502, "platform_unreachable", `could not reach Telegram to ${doing}`);
}

const info = async (account: ChannelAccount, env: ChannelEnvironment) => ({
  ...(await client(account, env)
    .getWebhookInfo()
    .catch((err) => {
      throw failure(err, "report the webhook");
    })),
});

export const driver: ChannelDriver = {
  name: "telegram",
  displayName: "Telegram",
  credentials: Credentials,
  config: Config,
  secretFields: ["botToken", "secretToken"],
  secretHeaders: [SECRET_HEADER],
  settings: { TELEGRAM_API_ROOT: { description: "the Telegram Bot API", url: true } },
  connection: {
    // The token is checked (getMe) before anything is stored; the bot's id and username tell its
    // mentions and commands apart in groups.
    async prepare({ credentials, env }) {
      const me = await client({ secrets: credentials }, env)
        .getMe()
        .catch((err) => {
          throw failure(err, "check the bot");
        });
      return { config: { botId: me.id, username: me.username }, secrets: { secretToken: randomToken() } };
    },
    async register(account, webhookUrl, env) {
      const telegram = client(account, env);
      try {
        await telegram.setWebhook(webhookUrl, {
          secret_token: account.secrets.secretToken!,
          allowed_updates: ["message", "edited_message", "callback_query"],
        });
        return {
          webhook: await telegram.getWebhookInfo(),
          instructions:
            "Nothing to configure in Telegram: the webhook is registered with a secret token. Send the bot a message to try it.",
        };
      } catch (err) {
        throw failure(err, "register the webhook");
      }
    },
    webhookInfo: info,
    async disconnect(account, env) {
      await client(account, env)
        .deleteWebhook()
        .catch((err) => {
          throw failure(err, "remove the webhook");
        });
    },
  },
  webhook,
  render,
  limits: LIMITS,
  createSender,
  policy,
  dialogflow: {
    source: "telegram",
    payloadKey: "telegram",
    platform: "TELEGRAM",
    importNames: ["telegram"],
    welcomeEvents,
    customPayload: dialogflowCall,
  },
};
