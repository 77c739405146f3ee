import type { ChannelDriver } from "@cb/core";
import { createTelegramSender } from "./sender.ts";
import { telegramWebhook } from "./webhook.ts";

export { normalizeUpdate, type BotIdentity } from "./normalize.ts";
export { renderReply, escapeHtml, TEXT_LIMIT } from "./render.ts";
export { createTelegramSender, apiRoot, type TelegramSecrets } from "./sender.ts";
export { telegramWebhook, secretTokenMatches, SECRET_HEADER } from "./webhook.ts";

export const telegramDriver: ChannelDriver = {
  channel: "telegram",
  webhook: telegramWebhook,
  createSender: createTelegramSender,
};
