import { channelDrivers, ChannelName, channelNames } from "@cb/channels";
import { Type, type Static, type TObject, type TOptional } from "typebox";
import { SCOPES } from "./keys.ts";

/** Request and response schemas: validation, serialization (nothing unlisted leaves) and OpenAPI in one. */
const iso = (d: Date) => d.toISOString();
const Timestamp = Type.String({ format: "date-time" });
const Uuid = Type.String({ format: "uuid" });
const Json = Type.Unknown();

/** An ISO 8601 duration: PT2H, P1D, -PT30M (checked again by luxon where it is used). */
export const IsoDuration = Type.String({
  pattern: "^-?P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+(\\.\\d+)?S)?)?$",
  maxLength: 40,
  description: "ISO 8601 duration, e.g. PT2H, P1D, -PT30M",
});

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const UuidParams = Type.Object({ id: Uuid });

export const TenantInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    language: Type.Optional(
      Type.String({ pattern: "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description: "BCP-47, e.g. en, pt-BR" }),
    ),
    timezone: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "IANA time zone, e.g. Europe/Berlin" }),
    ),
  },
  { additionalProperties: false },
);
const NluSettings = Type.Object(
  {
    mode: Type.Union([Type.Literal("offline"), Type.Literal("hybrid")], {
      description: "hybrid: an LLM decides when the offline model is unsure",
    }),
    model: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: "model name on the deployment's OpenAI-compatible endpoint",
      }),
    ),
  },
  { additionalProperties: false },
);
const HHMM = Type.String({ pattern: "^([01]\\d|2[0-3]):[0-5]\\d$" });
const NotificationSettings = Type.Object(
  {
    quietHours: Type.Optional(
      Type.Object(
        { start: HHMM, end: HHMM },
        { description: "in the tenant's time zone; notifications wait until the end" },
      ),
    ),
    optOutWords: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: "default: stop, unsubscribe" }),
    ),
    optInWords: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: "default: start, unstop, subscribe" }),
    ),
    optOutReply: Type.Optional(Type.String({ minLength: 1 })),
    optInReply: Type.Optional(Type.String({ minLength: 1 })),
    maxLateness: Type.Optional({
      ...IsoDuration,
      description:
        "a scheduled message due longer ago than this (the system was down) is skipped as too_late; default PT24H",
    }),
  },
  { additionalProperties: false },
);
const HandoffSettings = Type.Object(
  {
    waitingMessage: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        description: "sent once per handoff when the bot stops answering; default: an agent will be with you shortly",
      }),
    ),
    fallbackLimit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        description: "fallback intents matched in a row that hand the conversation to an agent; absent: never",
      }),
    ),
    idleMinutes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 43_200,
        description: "minutes without a message from either side after which the bot takes back a handoff; default 60",
      }),
    ),
  },
  { additionalProperties: false },
);
const HealthSettings = Type.Object(
  {
    failureRate: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description:
          "an endpoint or subscription is degraded when this share of its attempts in 15 min failed, or more; default 0.5",
      }),
    ),
    minAttempts: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000,
        description: "fewer attempts than this in 15 min never make it degraded; default 10",
      }),
    ),
  },
  { additionalProperties: false },
);
export const TenantPatch = Type.Partial(
  Type.Object({
    ...TenantInput.properties,
    nluSettings: NluSettings,
    notificationSettings: NotificationSettings,
    handoffSettings: HandoffSettings,
    healthSettings: HealthSettings,
  }),
  { additionalProperties: false },
);
export const Tenant = Type.Object({
  id: Uuid,
  name: Type.String(),
  language: Type.String(),
  timezone: Type.String(),
  nluSettings: Json,
  notificationSettings: Json,
  handoffSettings: Json,
  healthSettings: Json,
  createdAt: Timestamp,
});
export const tenantView = (t: {
  id: string;
  name: string;
  language: string;
  timezone: string;
  nluSettings: unknown;
  notificationSettings: unknown;
  handoffSettings: unknown;
  healthSettings: unknown;
  createdAt: Date;
}): Static<typeof Tenant> => ({
  id: t.id,
  name: t.name,
  language: t.language,
  timezone: t.timezone,
  nluSettings: t.nluSettings,
  notificationSettings: t.notificationSettings,
  handoffSettings: t.handoffSettings,
  healthSettings: t.healthSettings,
  createdAt: iso(t.createdAt),
});

const Scopes = Type.Array(Type.Union(SCOPES.map((s) => Type.Literal(s))), { minItems: 1, uniqueItems: true });
export const ApiKeyInput = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }), scopes: Scopes },
  { additionalProperties: false },
);
export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  hint: Type.String(),
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});
export const ApiKeyCreated = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  key: Type.String({ description: "Shown once; store it now" }),
});
export const apiKeyView = (k: {
  id: string;
  name: string;
  scopes: string[];
  hint: string;
  createdAt: Date;
  revokedAt: Date | null;
}) => ({
  id: k.id,
  name: k.name,
  scopes: k.scopes,
  hint: `…${k.hint}`,
  createdAt: iso(k.createdAt),
  revokedAt: k.revokedAt ? iso(k.revokedAt) : null,
});

/** A registered channel's name (@cb/channels). */
export const Channel = ChannelName();

/**
 * A notification's fields for the channels with a reply window, each named after its channel: what
 * may be sent in its text's place outside the window (a template, or a message tag), as the
 * channel's messaging policy says. `template` is the schema of a template's fields.
 */
export function outsideWindowFields(template: TObject, strict: boolean): Record<string, TOptional<TObject>> {
  const fields: Record<string, TOptional<TObject>> = {};
  for (const { name, policy } of channelDrivers) {
    const outside = policy.outsideWindow;
    if (!outside || policy.replyWindowMs === undefined) continue;
    const window = `${policy.replyWindowMs / 3_600_000}-hour`;
    fields[name] = Type.Optional(
      outside.kind === "template"
        ? Type.Object(template.properties, {
            ...(strict
              ? { additionalProperties: false, description: `the approved template sent outside the ${window} window` }
              : {}),
          })
        : Type.Object(
            { tag: Type.Union(outside.tags.map((t) => Type.Literal(t))) },
            strict
              ? { additionalProperties: false, description: `the message tag sent outside the ${window} window` }
              : {},
          ),
    );
  }
  return fields;
}
export const ChannelAccountInput = Type.Object(
  {
    channel: Channel,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    config: Type.Optional(Type.Record(Type.String(), Json)),
    credentials: Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 4096 }), {
      description: "Secrets: stored encrypted, never returned",
    }),
  },
  { additionalProperties: false },
);
export const ChannelAccountPatch = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), enabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export const ChannelAccount = Type.Object({
  id: Uuid,
  channel: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  config: Type.Record(Type.String(), Json),
  webhookUrl: Type.String(),
  secretHints: Type.Record(Type.String(), Type.String()),
  createdAt: Timestamp,
});
export const ChannelAccountCreated = Type.Object({
  account: ChannelAccount,
  setup: Type.Record(Type.String(), Json, {
    description: "What to configure on the platform's side; verify tokens are shown only here",
  }),
});

const Reply = Type.Record(Type.String(), Json, {
  description: "A reply in the reply model: { type: text | buttons | cards | image | template | custom, … }",
});
const Parameter = Type.Object({
  name: Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_.-]*$" }),
  entity: Type.String({ pattern: "^@" }),
  required: Type.Optional(Type.Boolean()),
  prompts: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  isList: Type.Optional(Type.Boolean()),
});
export const IntentInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    examples: Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { maxItems: 5000 }),
    parameters: Type.Optional(Type.Array(Parameter)),
    responses: Type.Optional(Type.Array(Reply)),
    isFallback: Type.Optional(Type.Boolean()),
    inputContexts: Type.Optional(Type.Array(Type.String())),
    outputContexts: Type.Optional(
      Type.Array(Type.Object({ name: Type.String(), lifespan: Type.Integer({ minimum: 0 }) })),
    ),
    fulfillmentEndpointId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    action: Type.Optional(
      Type.String({ maxLength: 200, description: "Dialogflow's action: sent to fulfillment as queryResult.action" }),
    ),
    events: Type.Optional(
      Type.Array(Type.String({ pattern: "^[A-Za-z0-9_.-]{1,150}$" }), {
        maxItems: 100,
        description: "events that trigger the intent: a fulfillment answer's followupEventInput names one",
      }),
    ),
    webhookForSlotFilling: Type.Optional(
      Type.Boolean({
        description:
          "call the fulfillment endpoint while required parameters are prompted for; its answer replaces the prompt",
      }),
    ),
    priority: Type.Optional(
      Type.Integer({
        minimum: -1,
        maximum: 1_000_000,
        description: "Dialogflow's priority: 500000 normal, 1000000 highest; -1 (Ignore): never matched",
      }),
    ),
    resetContexts: Type.Optional(Type.Boolean({ description: "matching it clears the active contexts" })),
    endInteraction: Type.Optional(Type.Boolean({ description: "Dialogflow's end of conversation flag" })),
    handoff: Type.Optional(
      Type.Boolean({ description: "matching it hands the conversation to a human agent (default false)" }),
    ),
  },
  { additionalProperties: false },
);
export const Intent = Type.Object({
  id: Uuid,
  name: Type.String(),
  examples: Type.Array(Type.String()),
  parameters: Json,
  responses: Json,
  isFallback: Type.Boolean(),
  inputContexts: Type.Array(Type.String()),
  outputContexts: Json,
  priority: Type.Integer(),
  resetContexts: Type.Boolean(),
  endInteraction: Type.Boolean(),
  fulfillmentEndpointId: Type.Union([Uuid, Type.Null()]),
  action: Type.String(),
  events: Type.Array(Type.String()),
  webhookForSlotFilling: Type.Boolean(),
  handoff: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const IntentTest = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: 2000, description: "a phrase a customer might write" }) },
  { additionalProperties: false },
);
export const IntentTestResult = Type.Object({
  intent: Type.String({ description: "the intent matched; the fallback intent's name when none matched confidently" }),
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  fallback: Type.Boolean({ description: "no intent matched confidently" }),
  parameters: Type.Record(Type.String(), Json),
  allRequiredParamsPresent: Type.Boolean(),
  prompt: Type.Union([Type.String(), Type.Null()], {
    description: "the question the bot would ask for a missing required parameter",
  }),
});
export const intentView = (i: {
  id: string;
  name: string;
  examples: string[];
  parameters: unknown;
  responses: unknown;
  isFallback: boolean;
  inputContexts: string[];
  outputContexts: unknown;
  priority: number;
  resetContexts: boolean;
  endInteraction: boolean;
  fulfillmentEndpointId: string | null;
  action: string;
  events: string[];
  webhookForSlotFilling: boolean;
  handoff: boolean;
  createdAt: Date;
  updatedAt: Date;
}) => ({ ...i, createdAt: iso(i.createdAt), updatedAt: iso(i.updatedAt) });

export const EntityTypeInput = Type.Object(
  {
    name: Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_-]*$", maxLength: 100 }),
    kind: Type.Union([Type.Literal("list"), Type.Literal("pattern")]),
    entries: Type.Optional(
      Type.Array(
        Type.Object({
          value: Type.String({ minLength: 1 }),
          synonyms: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
        }),
      ),
    ),
    pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export const EntityType = Type.Object({
  id: Uuid,
  name: Type.String(),
  kind: Type.String(),
  entries: Json,
  pattern: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const entityTypeView = (e: {
  id: string;
  name: string;
  kind: string;
  entries: unknown;
  pattern: string | null;
  createdAt: Date;
  updatedAt: Date;
}) => ({
  ...e,
  createdAt: iso(e.createdAt),
  updatedAt: iso(e.updatedAt),
});

export const EndpointInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    url: Type.String({ format: "uri", maxLength: 2000 }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 30_000 })),
    basicAuth: Type.Optional(Type.Object({ username: Type.String(), password: Type.String() })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);
export const EndpointPatch = Type.Partial(EndpointInput, { additionalProperties: false });
export const Endpoint = Type.Object({
  id: Uuid,
  name: Type.String(),
  url: Type.String(),
  timeoutMs: Type.Integer(),
  auth: Type.Object({
    basicAuth: Type.Boolean(),
    headers: Type.Array(Type.String(), { description: "header names only" }),
    signingSecretHints: Type.Array(Type.String()),
  }),
  createdAt: Timestamp,
});
export const EndpointCreated = Type.Object({
  endpoint: Endpoint,
  signingSecret: Type.String({ description: "Standard Webhooks secret (whsec_…), shown once" }),
});

export const Mode = Type.Union([Type.Literal("bot"), Type.Literal("pending"), Type.Literal("human")], {
  description: "bot: the bot answers; pending: waiting for an agent; human: with an agent (the assignee)",
});
export const Conversation = Type.Object({
  id: Uuid,
  channelAccountId: Uuid,
  externalId: Type.String(),
  lastInboundAt: Type.Union([Timestamp, Type.Null()]),
  mode: Mode,
  assignee: Type.Union([Type.String(), Type.Null()], { description: "who has the conversation (mode human)" }),
  handoff: Type.Union(
    [
      Type.Object({
        id: Uuid,
        reason: Type.Union([
          Type.Literal("intent"),
          Type.Literal("fulfillment"),
          Type.Literal("fallback"),
          Type.Literal("operator"),
        ]),
        startedAt: Timestamp,
      }),
      Type.Null(),
    ],
    { description: "the current handoff (null in mode bot)" },
  ),
  createdAt: Timestamp,
});
export const conversationView = (c: {
  id: string;
  channelAccountId: string;
  externalId: string;
  lastInboundAt: Date | null;
  mode: string;
  assignee: string | null;
  handoffId: string | null;
  handoffReason: string | null;
  handoffAt: Date | null;
  createdAt: Date;
}): Static<typeof Conversation> => ({
  id: c.id,
  channelAccountId: c.channelAccountId,
  externalId: c.externalId,
  lastInboundAt: c.lastInboundAt ? iso(c.lastInboundAt) : null,
  mode: c.mode as Static<typeof Mode>,
  assignee: c.assignee,
  handoff:
    c.mode !== "bot" && c.handoffId && c.handoffAt
      ? {
          id: c.handoffId,
          reason: c.handoffReason as "intent" | "fulfillment" | "fallback" | "operator",
          startedAt: iso(c.handoffAt),
        }
      : null,
  createdAt: iso(c.createdAt),
});
/** A conversation as the console lists it: with its channel, customer and last message. */
export const ConversationSummary = Type.Object({
  ...Conversation.properties,
  channel: Type.String({ description: channelNames.join(" | ") }),
  customer: Type.Object(
    {
      name: Type.Union([Type.String(), Type.Null()]),
      username: Type.Union([Type.String(), Type.Null()]),
      externalId: Type.String({ description: "the platform's id of the customer (else of the chat)" }),
    },
    { description: "as the platform named them in their last message (in a group, its last sender)" },
  ),
  lastMessage: Type.Union([
    Type.Object({
      id: Uuid,
      direction: Type.Union([Type.Literal("in"), Type.Literal("out")]),
      text: Type.Union([Type.String(), Type.Null()], {
        description: "the first 200 characters of its text (or button title, or media caption)",
      }),
      at: Timestamp,
    }),
    Type.Null(),
  ]),
  lastMessageAt: Type.Union([Timestamp, Type.Null()]),
  lastActivityAt: Type.String({
    format: "date-time",
    description: "the last message's time, else the conversation's creation: the list's order",
  }),
});
export const HandoffRequest = Type.Object(
  {
    assignee: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          "the agent taking the conversation (an operator id or e-mail); absent: the calling operator, or, for an API key, waiting for an agent",
      }),
    ),
  },
  { additionalProperties: false },
);
export const AgentReply = Type.Union(
  [
    Type.Object({ type: Type.Literal("text"), text: Type.String({ minLength: 1, maxLength: 4096 }) }),
    Type.Object({
      type: Type.Literal("image"),
      url: Type.String({ format: "uri", pattern: "^https://", maxLength: 2000 }),
      caption: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    }),
    Type.Object(
      {
        type: Type.Literal("template"),
        name: Type.String({ minLength: 1, maxLength: 512 }),
        language: Type.String({ minLength: 2, maxLength: 20 }),
        components: Type.Optional(Type.Array(Type.Record(Type.String(), Json), { maxItems: 20 })),
      },
      {
        description:
          "an approved WhatsApp template (the only reply WhatsApp takes 24 hours after the customer's last message)",
      },
    ),
  ],
  { description: "what the agent says, in the reply model" },
);
export const AgentMessageInput = Type.Object(
  {
    reply: AgentReply,
    idempotencyKey: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9._:-]{1,100}$",
        description: "the same key again returns the message stored the first time instead of sending it twice",
      }),
    ),
  },
  { additionalProperties: false },
);
const FulfillmentCallRecord = Type.Object({
  id: Type.Optional(Uuid),
  intent: Type.String(),
  ok: Type.Boolean(),
  httpStatus: Type.Optional(Type.Integer()),
  latencyMs: Type.Integer(),
  error: Type.Optional(Type.String()),
  request: Type.Optional(
    Type.Object(
      {
        headers: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
        body: Type.Union([Type.String(), Type.Null()]),
      },
      { description: "as sent: credential headers and credential fields redacted, the body cut at 16 KiB" },
    ),
  ),
  response: Type.Optional(
    Type.Object(
      { body: Type.Union([Type.String(), Type.Null()]) },
      { description: "as received (null: none), credential fields redacted, cut at 16 KiB" },
    ),
  ),
});
/** TurnRecord (packages/conversation/src/turn-record.ts): either `skipped`, or the understood fields. */
const TurnRecord = Type.Object(
  {
    skipped: Type.Optional(
      Type.Union(
        [
          Type.Literal("not addressed to the bot"),
          Type.Literal("nothing to answer"),
          Type.Literal("opt-out keyword"),
          Type.Literal("with an agent"),
        ],
        { description: "the message was handled without understanding it" },
      ),
    ),
    intent: Type.Optional(Type.String({ description: "the intent matched (the fallback's name when none was)" })),
    confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    parameters: Type.Optional(Type.Record(Type.String(), Json)),
    contexts: Type.Optional(
      Type.Array(Type.Object({ name: Type.String(), lifespanCount: Type.Integer() }), {
        description: "the contexts active after the turn, with the turns each has left",
      }),
    ),
    fulfillment: Type.Optional(
      Type.Object({
        status: Type.Union(
          [
            Type.Literal("prompt"),
            Type.Literal("none"),
            Type.Literal("ok"),
            Type.Literal("failed"),
            Type.Literal("no intent"),
          ],
          {
            description:
              "prompt: a required parameter was asked for; none: the intent has no fulfillment endpoint; ok / failed: " +
              "the endpoint answered, or not (the intent's responses stood in); no intent: no intent of that name exists",
          },
        ),
        responses: Type.Integer({ description: "how many responses of its own the intent has" }),
        calls: Type.Array(FulfillmentCallRecord, {
          description: "the endpoint calls: the intent's, then any follow-up event's",
        }),
      }),
    ),
    handoff: Type.Optional(
      Type.Union([Type.Literal("intent"), Type.Literal("fulfillment"), Type.Literal("fallback")], {
        description: "the turn handed the conversation to an agent, and why",
      }),
    ),
    stages: Type.Optional(
      Type.Object(
        {
          understandMs: Type.Integer({ description: "understanding the message (NLU)" }),
          fulfillMs: Type.Integer({ description: "choosing the replies, fulfillment calls included" }),
          sendMs: Type.Optional(Type.Integer({ description: "sending the replies (and any handoff notice)" })),
        },
        { description: "where an understood turn's time went, in ms" },
      ),
    ),
    replies: Type.Integer({ description: "replies chosen; 0 when the bot said nothing" }),
    latencyMs: Type.Integer({ description: "the turn's own time, from reading the message to its replies sent" }),
  },
  { description: "inbound messages, once processed: what the turn did, and why the bot answered as it did" },
);
export const Message = Type.Object({
  id: Uuid,
  direction: Type.String(),
  status: Type.String(),
  platformMessageId: Type.Union([Type.String(), Type.Null()]),
  content: Json,
  error: Json,
  turn: Type.Union([TurnRecord, Type.Null()]),
  createdAt: Timestamp,
});
export const messageView = (m: {
  id: string;
  direction: string;
  status: string;
  platformMessageId: string | null;
  content: unknown;
  error: unknown;
  turn: unknown;
  createdAt: Date;
}) => ({
  id: m.id,
  direction: m.direction,
  status: m.status,
  platformMessageId: m.platformMessageId,
  content: m.content,
  error: m.error ?? null,
  turn: (m.turn ?? null) as Static<typeof TurnRecord> | null,
  createdAt: iso(m.createdAt),
});
