export * from "./dialogflow.ts";
export { toMessages } from "./messages.ts";
export { toReplies } from "./replies.ts";
export { platformPayload } from "./payloads.ts";
export {
  createFulfillmentClient,
  postOnce,
  recordedBody,
  redactedHeaders,
  webhookIdOf,
  MAX_RESPONSE_BYTES,
  RECORDED_BODY_BYTES,
  type ErrorClass,
  type Exchange,
  type Endpoint,
  type EndpointAuth,
  type FulfillmentResult,
  type FulfillmentClient,
} from "./call.ts";
export { generateSigningSecret, signatureHeaders } from "./signing.ts";
export type { FollowupSchedule } from "./response-schema.ts";
