import {
  PlatformError,
  platformLimiter,
  type Budget,
  type ChannelAccount,
  type ChannelEnvironment,
  type ChannelSender,
  type ConversationRef,
  type SendLimits,
  type SentMessage,
} from "@cb/core";
import { Telegram, TelegramError } from "telegraf";
import type { TelegramSecrets } from "./driver.ts";
import { render } from "./render.ts";

/** Where the Bot API lives: real Telegram by default, a local Bot API server or a fake otherwise. */
export function apiRoot(env: ChannelEnvironment): string {
  return env.TELEGRAM_API_ROOT ?? "https://api.telegram.org";
}

// Telegram's published limits: about 30 messages a second per bot, about one a second per chat,
// and no more than 20 a minute in a group
// (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). Shared by
// every process sending as the same bot.
const PER_BOT = { cap: 30, intervalMs: 1000 };
const PER_CHAT = { cap: 1, intervalMs: 1000 };
const PER_GROUP = { cap: 20, intervalMs: 60_000 };

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
export function createSender(account: ChannelAccount, env: ChannelEnvironment, limits: SendLimits): ChannelSender {
  const secrets = account.secrets as unknown as TelegramSecrets;
  const telegram = new Telegram(secrets.botToken, { apiRoot: apiRoot(env) });
  const bot = `telegram:${secrets.botToken.split(":")[0]!}`;
  const limited = platformLimiter(limits, "telegram");

  function call(method: string, params: Record<string, unknown>, to?: ConversationRef): Promise<unknown> {
    const budgets: Budget[] = [{ key: bot, ...PER_BOT }];
    const chat = to && `${bot}:${to.externalId}`;
    if (chat) budgets.push({ key: chat, ...PER_CHAT });
    if (chat && to.type === "group") budgets.push({ key: `${chat}:minute`, ...PER_GROUP });
    // A 429 answering a message is the chat's flood control (the bot's own pace is kept above):
    // that chat waits retry_after, the bot's other chats go on. Other calls' 429s hold the bot.
    return limited(budgets, chat ?? bot, async () => {
      try {
        return await (telegram.callApi as (m: string, p: unknown) => Promise<unknown>)(method, params);
      } catch (err) {
        throw toPlatformError(err);
      }
    });
  }

  return {
    reportsDelivery: false,
    async send(to, reply, context) {
      const sent: SentMessage[] = [];
      const replyTo =
        context?.inReplyTo && !context.inReplyTo.postback ? context.inReplyTo.platformMessageId : undefined;
      for (const { method, params } of render(reply)) {
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
