import { HttpError } from "@cb/core";
import type { Db } from "@cb/db";
import type { Sealer } from "@cb/secrets";
import { HTTP, type CloudEvent } from "cloudevents";
import type { FastifyPluginAsync } from "fastify";
import { Webhook } from "standardwebhooks";
import { storeEvent, type IncomingEvent } from "./store.ts";

export interface IntakeOptions {
  db: Db;
  sealer: Sealer;
  /** The admin API's key check: API keys with scope `events` (or `admin`) may post CloudEvents. */
  authenticateApiKey(db: Db, key: string): Promise<{ tenantId: string; scopes: string[] } | null>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// biome-ignore lint/suspicious/noExplicitAny: the event body is untyped JSON, checked field by field below
function fromBody(tenantId: string, eventId: string, body: Record<string, any> | null): IncomingEvent {
  if (body === null) throw new HttpError(400, "invalid_event", "the event must be a JSON object");
  const data = body.data;
  const subject = body.subject ?? data?.orderId ?? data?.order?.id;
  if (typeof body.type !== "string" || !body.type)
    throw new HttpError(400, "invalid_event", "the event needs a `type`");
  if (!data || typeof data !== "object" || Array.isArray(data))
    throw new HttpError(400, "invalid_event", "the event needs a `data` object");
  if (subject === undefined || subject === null || subject === "")
    throw new HttpError(400, "invalid_event", "the event needs a `subject` (or data.orderId)");
  const occurredAt = new Date(body.timestamp ?? body.time ?? Date.now());
  if (Number.isNaN(occurredAt.getTime())) throw new HttpError(400, "invalid_event", "`timestamp` is not a date");
  const sequence = parseSequence(body.sequence ?? data.sequence);
  return {
    tenantId,
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

/**
 * POST /v1/tenants/:tenantId/events. Two ways in, each verified before anything is stored:
 * a JSON body signed in the Standard Webhooks format with the tenant's events secret, or a
 * CloudEvents event (structured or binary) with an API key. 202 once stored; a duplicate id is
 * accepted and ignored.
 */
export const notificationsIntake: FastifyPluginAsync<IntakeOptions> = async (app, options) => {
  const raw = (_r: unknown, body: Buffer, done: (e: null, b: Buffer) => void) => done(null, body);
  app.addContentTypeParser(["application/json", "application/cloudevents+json"], { parseAs: "buffer" }, raw);

  app.post<{ Params: { tenantId: string }; Body: Buffer }>("/v1/tenants/:tenantId/events", async (request, reply) => {
    const { tenantId } = request.params;
    const tenant = UUID.test(tenantId)
      ? await options.db.tenant.findUnique({ where: { id: tenantId }, select: { eventsSecret: true } })
      : null;
    if (!tenant) throw new HttpError(404, "not_found", "no such tenant");
    const body = Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "";
    const headers = request.headers as Record<string, string>;
    let event: IncomingEvent;

    if (headers["webhook-signature"]) {
      if (!tenant.eventsSecret)
        throw new HttpError(401, "invalid_signature", "this tenant has no events secret; create one in the admin API");
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
      event = fromBody(tenantId, headers["webhook-id"]!, payload as Record<string, unknown> | null);
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
      let ce: CloudEvent<unknown>;
      let data: unknown;
      try {
        // One event: a batch's content type (application/cloudevents-batch+json) is not accepted.
        ce = HTTP.toEvent({ headers, body }) as CloudEvent<unknown>;
        ce.validate();
        data = typeof ce.data === "string" ? JSON.parse(ce.data) : ce.data;
      } catch (err) {
        throw new HttpError(400, "invalid_event", `not a valid CloudEvent: ${(err as Error).message}`);
      }
      event = fromBody(tenantId, ce.id, {
        type: ce.type,
        subject: ce.subject,
        time: ce.time,
        data,
        sequence: (ce as unknown as { sequence?: unknown }).sequence,
      });
    }
    const outcome = await storeEvent(options.db, event);
    return reply.code(202).send({
      accepted: true,
      eventId: event.eventId,
      ...(outcome === "duplicate" ? { duplicate: true } : {}),
      ...(outcome === "stale" ? { stale: true } : {}),
    });
  });
};
