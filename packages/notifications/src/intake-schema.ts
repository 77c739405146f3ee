import type { FastifySchema } from "fastify";
import { Type } from "typebox";

/**
 * The intake's OpenAPI description. The body is documented, not validated by fastify: it must be
 * verified (signature or API key) before it is parsed, so the route checks it itself afterwards.
 */
const CloudEvent = Type.Object(
  {
    specversion: Type.Literal("1.0"),
    id: Type.String({ minLength: 1, maxLength: 200 }),
    source: Type.String({ minLength: 1, maxLength: 500, description: "with id, what identifies the event" }),
    type: Type.String({ minLength: 1 }),
    subject: Type.Optional(Type.String({ description: "the order; else data.orderId" })),
    time: Type.Optional(Type.String({ format: "date-time" })),
    sequence: Type.Optional(Type.String()),
    datacontenttype: Type.Optional(Type.String()),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { description: "A structured CloudEvent (1.0)" },
);
const SignedEvent = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 200 }),
    subject: Type.Optional(Type.String()),
    timestamp: Type.Optional(Type.String({ format: "date-time" })),
    sequence: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: "^\\d{1,19}$" })])),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { description: "Signed in the Standard Webhooks format (webhook-id, webhook-timestamp, webhook-signature)" },
);
const Outcome = {
  eventId: Type.String(),
  source: Type.Optional(Type.String({ description: "CloudEvents only" })),
  duplicate: Type.Optional(Type.Literal(true, { description: "seen before: accepted and ignored" })),
  stale: Type.Optional(
    Type.Literal(true, { description: "older than what its subject has seen: stored, not notified" }),
  ),
};

export const intakeBody = {
  content: {
    "application/json": { schema: SignedEvent },
    "application/cloudevents+json": { schema: CloudEvent },
    "application/cloudevents-batch+json": { schema: Type.Array(CloudEvent, { minItems: 1, maxItems: 100 }) },
  },
};

/** Typed as fastify's schema: tags, summary and security are @fastify/swagger's, unknown to fastify itself. */
export const intakeSchema = {
  tags: ["notifications"],
  summary:
    "Post an order event: signed (Standard Webhooks, the tenant's events secret) or CloudEvents (one, binary, or a batch of up to 100) with an API key of scope events",
  // An API key, or none: a signed body proves itself.
  security: [{ apiKey: [] }, {}],
  params: Type.Object({ tenantId: Type.String({ description: "the tenant's id" }) }),
  response: {
    202: Type.Union([
      Type.Object({ accepted: Type.Literal(true), ...Outcome }, { description: "One event: stored" }),
      Type.Object(
        {
          accepted: Type.Integer({ minimum: 0, description: "how many of the batch's events were stored" }),
          results: Type.Array(
            Type.Object({
              status: Type.Integer({ description: "202 stored, or the event's 4xx" }),
              eventId: Type.Optional(Type.String()),
              source: Type.Optional(Type.String()),
              duplicate: Outcome.duplicate,
              stale: Outcome.stale,
              error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
            }),
          ),
        },
        { description: "A batch: each event's outcome, in order" },
      ),
    ]),
  },
} as FastifySchema;
