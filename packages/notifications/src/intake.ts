import { assertStorable, HttpError } from "@cb/core";
import type { Db } from "@cb/db";
import type { Sealer } from "@cb/secrets";
import { HTTP, type CloudEvent } from "cloudevents";
import type { FastifyPluginAsync } from "fastify";
import { Webhook } from "standardwebhooks";
import { Type } from "typebox";
import { Compile } from "typebox/compile";
import { intakeBody, intakeSchema } from "./intake-schema.ts";
import { storeEvent, type IncomingEvent } from "./store.ts";

export interface IntakeOptions {
  db: Db;
  sealer: Sealer;
  /** The admin API's key check: API keys with scope `events` (or `admin`) may post CloudEvents. */
  authenticateApiKey(db: Db, key: string): Promise<{ tenantId: string; scopes: string[] } | null>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An order event as the two ways in carry it, checked after verification and before anything is
 * read from it. Sequences are whole numbers (a digit string for those past 2^53); times fall within
 * what PostgreSQL stores (an ISO 8601 string, or milliseconds since 1970).
 */
const EventBody = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 200 }),
  subject: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Integer()])),
  timestamp: Type.Optional(
    Type.Union([Type.String({ format: "date-time" }), Type.Integer({ minimum: 0, maximum: 253402300799999 })]),
  ),
  time: Type.Optional(Type.String({ format: "date-time" })),
  sequence: Type.Optional(Type.Union([Type.Integer(), Type.String({ pattern: "^-?\\d{1,18}$" }), Type.Null()])),
  data: Type.Record(Type.String(), Type.Unknown()),
});
const eventBody = Compile(EventBody);
const EVENT_ID = /^[\x21-\x7e]{1,200}$/;

function fromBody(tenantId: string, source: string, eventId: string, body: unknown): IncomingEvent {
  if (!EVENT_ID.test(eventId))
    throw new HttpError(400, "invalid_event", "the event id must be 1 to 200 printable ASCII characters");
  assertStorable(body, "event");
  if (!eventBody.Check(body)) {
    const [error] = eventBody.Errors(body);
    throw new HttpError(400, "invalid_event", `event${error?.instancePath ?? ""} ${error?.message ?? "is not valid"}`);
  }
  const { data } = body;
  const order = data.order as { id?: unknown } | undefined;
  const subject = body.subject ?? data.orderId ?? order?.id;
  if (subject === undefined || subject === null || subject === "" || typeof subject === "object")
    throw new HttpError(400, "invalid_event", "the event needs a `subject` (or data.orderId)");
  const occurredAt = new Date(body.timestamp ?? body.time ?? Date.now());
  if (Number.isNaN(occurredAt.getTime()) || occurredAt.getUTCFullYear() > 9999)
    throw new HttpError(400, "invalid_event", "`timestamp` is not a date");
  const sequence = parseSequence(body.sequence ?? data.sequence);
  return {
    tenantId,
    source,
    eventId,
    type: body.type,
    subject: String(subject),
    occurredAt,
    ...(sequence !== undefined ? { sequence } : {}),
    data,
  };
}

/** An integer, or its digits as a string (within PostgreSQL's bigint); none when absent or null. */
function parseSequence(value: unknown): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (Number.isSafeInteger(value) || (typeof value === "string" && /^-?\d{1,18}$/.test(value)))
    return BigInt(value as number | string);
  throw new HttpError(400, "invalid_event", "`sequence` must be an integer");
}

/** Signed (Standard Webhooks) events have their own id space; CloudEvents are keyed by their source. */
export const WEBHOOK_SOURCE = "webhook";
/** The most events one CloudEvents batch may carry (413 past it). */
export const MAX_BATCH = 100;
const BATCH = "application/cloudevents-batch+json";

/** A CloudEvent (structured or binary, as the SDK reads it from HTTP) as an order event. */
function fromCloudEvent(tenantId: string, headers: Record<string, string>, body: string): IncomingEvent {
  let ce: CloudEvent<Record<string, unknown>>;
  try {
    ce = HTTP.toEvent({ headers, body }) as CloudEvent<Record<string, unknown>>;
    ce.validate();
  } catch (err) {
    throw new HttpError(400, "invalid_event", `not a valid CloudEvent: ${(err as Error).message}`);
  }
  let data: unknown = ce.data;
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      throw new HttpError(400, "invalid_event", "the CloudEvent's data is not JSON");
    }
  }
  if (ce.source.length > 500) throw new HttpError(400, "invalid_event", "the CloudEvent's source is longer than 500");
  const sequence = (ce as unknown as { sequence?: unknown }).sequence;
  return fromBody(tenantId, ce.source, ce.id, {
    type: ce.type,
    ...(ce.subject !== undefined ? { subject: ce.subject } : {}),
    ...(ce.time !== undefined ? { time: ce.time } : {}),
    data,
    ...(sequence !== undefined ? { sequence } : {}),
  });
}

const outcomeOf = (event: IncomingEvent, outcome: Awaited<ReturnType<typeof storeEvent>>) => ({
  eventId: event.eventId,
  ...(event.source !== WEBHOOK_SOURCE ? { source: event.source } : {}),
  ...(outcome === "duplicate" ? { duplicate: true } : {}),
  ...(outcome === "stale" ? { stale: true } : {}),
});

/**
 * A CloudEvents batch (a JSON array of structured events): each event is checked and stored on its
 * own, so one bad event does not refuse the others; the answer lists every event's outcome, in order.
 */
async function storeBatch(db: IntakeOptions["db"], tenantId: string, body: string) {
  let events: unknown;
  try {
    events = JSON.parse(body);
  } catch {
    throw new HttpError(400, "invalid_json", "the body is not valid JSON");
  }
  if (!Array.isArray(events) || events.length === 0)
    throw new HttpError(400, "invalid_event", "a CloudEvents batch is a non-empty JSON array of events");
  if (events.length > MAX_BATCH)
    throw new HttpError(413, "batch_too_large", `a batch holds at most ${MAX_BATCH} events`);
  const results = [];
  for (const item of events) {
    const said = item && typeof item === "object" ? (item as { id?: unknown; source?: unknown }) : {};
    try {
      const event = fromCloudEvent(tenantId, { "content-type": "application/cloudevents+json" }, JSON.stringify(item));
      results.push({ status: 202, ...outcomeOf(event, await storeEvent(db, event)) });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      results.push({
        status: err.statusCode,
        ...(typeof said.id === "string" ? { eventId: said.id } : {}),
        ...(typeof said.source === "string" ? { source: said.source } : {}),
        error: { code: err.code, message: err.message },
      });
    }
  }
  return { accepted: results.filter((r) => r.status === 202).length, results };
}

/**
 * POST /v1/tenants/:tenantId/events. Two ways in, each verified before anything is stored:
 * a JSON body signed in the Standard Webhooks format with the tenant's events secret, or
 * CloudEvents with an API key: one event (structured or binary) or a batch. 202 once stored; a
 * duplicate (same id, and for CloudEvents the same source) is accepted and ignored.
 */
export const notificationsIntake: FastifyPluginAsync<IntakeOptions> = async (app, options) => {
  const raw = (_r: unknown, body: Buffer, done: (e: null, b: Buffer) => void) => done(null, body);
  app.addContentTypeParser(["application/json", "application/cloudevents+json", BATCH], { parseAs: "buffer" }, raw);

  // It authenticates on its own; 429: sources that keep failing verification (apps/server's forgery limit).
  const config = { public: true, openapiBody: intakeBody, errorStatuses: [403, 429] };
  app.post<{ Params: { tenantId: string }; Body: Buffer }>(
    "/v1/tenants/:tenantId/events",
    { schema: intakeSchema, config },
    async (request, reply) => {
      const { tenantId } = request.params;
      const tenant = UUID.test(tenantId)
        ? await options.db.tenant.findUnique({ where: { id: tenantId }, select: { id: true, eventsSecret: true } })
        : null;
      if (!tenant) throw new HttpError(404, "not_found", "no such tenant");
      const body = Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "";
      const headers = request.headers as Record<string, string>;
      let event: IncomingEvent;

      if (headers["webhook-signature"]) {
        if (!tenant.eventsSecret)
          throw new HttpError(
            401,
            "invalid_signature",
            "this tenant has no events secret; create one in the admin API",
          );
        let payload: unknown;
        try {
          payload = new Webhook(options.sealer.open(tenant.eventsSecret)).verify(body, headers);
        } catch {
          throw new HttpError(
            401,
            "invalid_signature",
            "the signature does not verify or the timestamp is outside 5 minutes",
          );
        }
        event = fromBody(tenantId, WEBHOOK_SOURCE, headers["webhook-id"]!, payload);
      } else {
        const key = headers.authorization?.replace(/^Bearer /, "");
        const principal = key ? await options.authenticateApiKey(options.db, key) : null;
        if (!principal || principal.tenantId !== tenantId)
          throw new HttpError(
            401,
            "unauthenticated",
            "sign the body (Standard Webhooks) or send a CloudEvent with an API key",
          );
        if (!principal.scopes.some((s) => s === "events" || s === "admin"))
          throw new HttpError(403, "forbidden", "the key needs the events scope");
        if (headers["content-type"]?.startsWith(BATCH))
          return reply.code(202).send(await storeBatch(options.db, tenantId, body));
        event = fromCloudEvent(tenantId, headers, body);
      }
      return reply.code(202).send({ accepted: true, ...outcomeOf(event, await storeEvent(options.db, event)) });
    },
  );
};
