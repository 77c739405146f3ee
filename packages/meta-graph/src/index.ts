export { hubSignatureValid, hubSignature } from "./signature.ts";
export { metaWebhook, type MetaSecrets } from "./webhook.ts";
export { graphClient, DEFAULT_GRAPH_VERSION, GRAPH_SETTINGS, type GraphOptions } from "./graph.ts";
export { sendApiSender, type SendApiChannel } from "./send-api.ts";
export { metaConnection } from "./connection.ts";
export { metaAccount, type MetaAccountSecrets } from "./credentials.ts";
