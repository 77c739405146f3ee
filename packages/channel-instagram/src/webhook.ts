import { metaWebhook } from "@cb/meta-graph";
import { normalize } from "./normalize.ts";

/** Meta's webhook (verify-token handshake, X-Hub-Signature-256) for `object: "instagram"` deliveries. */
export const webhook = metaWebhook({ object: "instagram", channel: "Instagram", normalize: (body) => normalize(body) });
