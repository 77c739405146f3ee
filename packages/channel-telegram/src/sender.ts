import {
  keyedRateLimiter,
  PlatformError,
  type ChannelAccount,
  type ChannelEnvironment,
  type ChannelSender,
  type ConversationRef,
  type SentMessage,
} from "@cb/core";
import { Telegram, TelegramError } from "telegraf";
import { renderReply } from "./render.ts";

export interface TelegramSecrets {
  botToken: string;
  secretToken: string;
}

/** Where the Bot API lives: real Telegram by default, a local Bot API server or a fake otherwise. */
export function apiRoot(env: ChannelEnvironment): string {
  return env.TELEGRAM_API_ROOT ?? "https://api.telegram.org";
}

// Telegram's published limits: about 30 messages a second per bot, about one a second per chat,
// and no more than 20 a minute in a group
// (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). Shared by
// every sender of the same bot in this process.
const perBot = keyedRateLimiter({ cap: 30, intervalMs: 1000 });
const perChat = keyedRateLimiter({ cap: 1, intervalMs: 1000, concurrency: 1 });
const perGroup = keyedRateLimiter({ cap: 20, intervalMs: 60_000 });

function toPlatformError(err: unknown): PlatformError {
  if (err instanceof TelegramError) {
    const retryAfter = err.parameters?.retry_after;
    return new PlatformError(
      "telegram",
      String(err.code),
      err.description,
      err.code === 429 || err.code >= 500,
      retryAfter !== undefined ? retryAfter * 1000 : undefined,
    );
  }
  // node-fetch network failures (refused, reset, DNS): worth another try later.
  return new PlatformError("telegram", "network", (err as Error).message, true);
}

/** Sends through telegraf's Bot API client, within Telegram's rate limits. */
export function createTelegramSender(account: ChannelAccount, env: ChannelEnvironment): ChannelSender {
  const secrets = account.secrets as unknown as TelegramSecrets;
  const telegram = new Telegram(secrets.botToken, { apiRoot: apiRoot(env) });
  const botId = secrets.botToken.split(":")[0]!;
  const bot = perBot(botId);

  async function call(method: string, params: Record<string, unknown>, to?: ConversationRef): Promise<unknown> {
    const run = () => (telegram.callApi as (m: string, p: unknown) => Promise<unknown>)(method, params);
    try {
      if (!to) return await bot(run);
      // A message takes its chat's turn (and in a group the group's minute budget), then the bot's.
      const chat = `${botId}:${to.externalId}`;
      const group = to.type === "group" ? perGroup(chat) : undefined;
      return await perChat(chat)(() => (group ? group(() => bot(run)) : bot(run)));
    } catch (err) {
      throw toPlatformError(err);
    }
  }

  return {
    reportsDelivery: false,
    async send(to, reply, context) {
      const sent: SentMessage[] = [];
      const replyTo =
        context?.inReplyTo && !context.inReplyTo.postback ? context.inReplyTo.platformMessageId : undefined;
      for (const { method, params } of renderReply(reply)) {
        const result = (await call(
          method,
          {
            chat_id: to.externalId,
            ...(to.threadId ? { message_thread_id: Number(to.threadId) } : {}),
            // In groups, answer the very message so the thread of talk stays readable.
            ...(to.type === "group" && replyTo
              ? { reply_parameters: { message_id: Number(replyTo), allow_sending_without_reply: true } }
              : {}),
            ...params,
          },
          to,
        )) as { message_id?: number };
        sent.push({ platformMessageId: String(result?.message_id ?? ""), raw: result });
      }
      return sent;
    },
    async acknowledge(message) {
      if (message.postback && message.platformMessageId) {
        await call("answerCallbackQuery", { callback_query_id: message.platformMessageId });
      }
    },
  };
}
