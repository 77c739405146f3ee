import { metaWebhook } from "@cb/meta-graph";
import { normalize } from "./normalize.ts";

/** Meta's webhook (verify-token handshake, X-Hub-Signature-256) for `object: "whatsapp_business_account"` deliveries. */
export const webhook = metaWebhook({
  object: "whatsapp_business_account",
  channel: "WhatsApp",
  normalize: (body) => normalize(body),
});
