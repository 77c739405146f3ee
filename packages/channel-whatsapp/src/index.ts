import type { ChannelDriver } from "@cb/core";
import { metaWebhook } from "@cb/meta-graph";
import { normalizeWebhook } from "./normalize.ts";
import { createWhatsAppSender } from "./sender.ts";

export { normalizeWebhook } from "./normalize.ts";
export { renderReply, LIMITS, type WaMessage } from "./render.ts";
export {
  createWhatsAppSender,
  downloadMedia,
  whatsappGraph,
  type WhatsAppSecrets,
  type WhatsAppConfig,
} from "./sender.ts";

export const whatsappDriver: ChannelDriver = {
  channel: "whatsapp",
  webhook: metaWebhook({
    object: "whatsapp_business_account",
    channel: "WhatsApp",
    normalize: (body) => normalizeWebhook(body),
  }),
  createSender: createWhatsAppSender,
};
