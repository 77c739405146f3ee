import { Type, type Static } from "typebox";
import { Compile } from "typebox/compile";

/**
 * Dialogflow ES's WebhookResponse as far as this server reads it
 * (https://cloud.google.com/dialogflow/es/docs/reference/rest/v2/WebhookResponse), checked before
 * anything is read from a backend's answer. Fields not read here pass unchecked: backends written for
 * Dialogflow send many (Actions on Google's, their own), and those never reach a reply.
 */
const Params = Type.Record(Type.String(), Type.Unknown());

// A positive ISO 8601 duration (P3D, PT24H, P1DT12H).
const DURATION = "^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+(\\.\\d+)?S)?)?$";
const scheduleFields = {
  after: Type.String({ pattern: DURATION, maxLength: 40 }),
  cancelIfCustomerWrites: Type.Optional(Type.Boolean()),
};

/**
 * This server's own extension, `payload.schedule`: a message (`text`) or an event (`event`, with
 * `parameters`) into the same conversation `after` a while, cancelled if the customer writes in
 * between when `cancelIfCustomerWrites`. Strict: a field it does not know is an invalid answer.
 */
export const FollowupSchedule = Type.Union([
  Type.Object(
    {
      ...scheduleFields,
      event: Type.String({ minLength: 1, maxLength: 200 }),
      parameters: Type.Optional(Params),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { ...scheduleFields, text: Type.String({ minLength: 1, maxLength: 4096 }) },
    { additionalProperties: false },
  ),
]);
export type FollowupSchedule = Static<typeof FollowupSchedule>;

/** A payload keyed by platform: the keys a channel reads must hold objects. */
const PlatformPayload = Type.Object({
  telegram: Type.Optional(Params),
  facebook: Type.Optional(Params),
  messenger: Type.Optional(Params),
  slack: Type.Optional(Params),
  whatsapp: Type.Optional(Params),
});

const Message = Type.Object({
  platform: Type.Optional(Type.String()),
  text: Type.Optional(Type.Object({ text: Type.Optional(Type.Array(Type.String())) })),
  image: Type.Optional(
    Type.Object({ imageUri: Type.Optional(Type.String()), accessibilityText: Type.Optional(Type.String()) }),
  ),
  quickReplies: Type.Optional(
    Type.Object({ title: Type.Optional(Type.String()), quickReplies: Type.Optional(Type.Array(Type.String())) }),
  ),
  card: Type.Optional(
    Type.Object({
      title: Type.Optional(Type.String()),
      subtitle: Type.Optional(Type.String()),
      imageUri: Type.Optional(Type.String()),
      buttons: Type.Optional(
        Type.Array(Type.Object({ text: Type.Optional(Type.String()), postback: Type.Optional(Type.String()) })),
      ),
    }),
  ),
  basicCard: Type.Optional(
    Type.Object({
      title: Type.Optional(Type.String()),
      subtitle: Type.Optional(Type.String()),
      formattedText: Type.Optional(Type.String()),
      image: Type.Optional(
        Type.Object({ imageUri: Type.Optional(Type.String()), accessibilityText: Type.Optional(Type.String()) }),
      ),
      buttons: Type.Optional(
        Type.Array(
          Type.Object({
            title: Type.Optional(Type.String()),
            openUriAction: Type.Optional(Type.Object({ uri: Type.Optional(Type.String()) })),
          }),
        ),
      ),
    }),
  ),
  payload: Type.Optional(PlatformPayload),
});

const Context = Type.Object({
  name: Type.String({ minLength: 1 }),
  lifespanCount: Type.Optional(Type.Integer({ minimum: 0 })),
  parameters: Type.Optional(Params),
});

export const WebhookResponseSchema = Type.Object({
  fulfillmentText: Type.Optional(Type.String()),
  fulfillmentMessages: Type.Optional(Type.Array(Message)),
  source: Type.Optional(Type.String()),
  payload: Type.Optional(Type.Object({ ...PlatformPayload.properties, schedule: Type.Optional(FollowupSchedule) })),
  outputContexts: Type.Optional(Type.Array(Context)),
  followupEventInput: Type.Optional(
    Type.Object({
      name: Type.String({ minLength: 1 }),
      parameters: Type.Optional(Params),
      languageCode: Type.Optional(Type.String()),
    }),
  ),
});

export type CheckedWebhookResponse = Static<typeof WebhookResponseSchema>;

const validator = Compile(WebhookResponseSchema);

/**
 * Why a parsed answer is not a WebhookResponse (the first problem: where, and what was expected,
 * e.g. "/fulfillmentMessages/0/text/text must be array"), or undefined when it is one.
 */
export function whyInvalid(value: unknown): string | undefined {
  if (validator.Check(value)) return undefined;
  const [error] = validator.Errors(value);
  if (!error) return "is not a WebhookResponse";
  return `${error.instancePath || "the response"} ${error.message}`;
}
