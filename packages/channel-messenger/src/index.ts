import type { ChannelDriver } from "@cb/core";
import { metaWebhook } from "@cb/meta-graph";
import { normalizeWebhook } from "./normalize.ts";
import { createMessengerSender } from "./sender.ts";

export { normalizeWebhook, normalizeEvent } from "./normalize.ts";
export { renderReply, LIMITS, type MessengerMessage } from "./render.ts";
export { createMessengerSender, type MessengerSecrets } from "./sender.ts";

export const messengerDriver: ChannelDriver = {
  channel: "messenger",
  webhook: metaWebhook({ object: "page", channel: "Messenger", normalize: (body) => normalizeWebhook(body) }),
  createSender: createMessengerSender,
};
