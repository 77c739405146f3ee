import { metaWebhook } from "@cb/meta-graph";
import { normalize } from "./normalize.ts";

/** Meta's webhook (verify-token handshake, X-Hub-Signature-256) for `object: "page"` deliveries. */
export const webhook = metaWebhook({ object: "page", channel: "Messenger", normalize: (body) => normalize(body) });
