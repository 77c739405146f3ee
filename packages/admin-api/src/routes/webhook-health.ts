import { HttpError } from "@cb/core";
import type { Prisma } from "@cb/db";
import { postOnce, type EndpointAuth, type WebhookRequest } from "@cb/fulfillment";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type, type Static } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { Health, healthOf, Overview, overviewOf, WindowQuery, type Window } from "../health.ts";
import { cursorAt, PageQuery, page, pageArgs, readCursor, toPage } from "../pagination.ts";
import { redactBody } from "../redact.ts";
import { UuidParams } from "../schemas.ts";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const ErrorClass = Nullable(
  Type.String({
    description: "timeout | connection | http_4xx | http_5xx | invalid_response | circuit_open; null when it succeeded",
  }),
);
/** What went over the wire, as recorded: bodies cut at 16 KiB, credentials redacted. */
export const Exchange = {
  request: Type.Object({
    headers: Nullable(Type.Record(Type.String(), Type.String())),
    body: Nullable(Type.String()),
  }),
  response: Type.Object({ body: Nullable(Type.String()) }),
};
const Call = Type.Object({
  id: Type.String({ format: "uuid" }),
  messageId: Type.String({ format: "uuid" }),
  intent: Type.String(),
  ok: Type.Boolean(),
  httpStatus: Nullable(Type.Integer()),
  latencyMs: Type.Integer(),
  error: Nullable(Type.String()),
  errorClass: ErrorClass,
  replayOf: Nullable(Type.String({ format: "uuid", description: "the call this one replayed" })),
  createdAt: Type.String({ format: "date-time" }),
  ...Exchange,
});
const AttemptRow = Type.Object({
  id: Type.String({ format: "uuid" }),
  deliveryId: Type.String({ format: "uuid" }),
  eventId: Type.String(),
  eventType: Type.String(),
  deliveryStatus: Type.String({ description: "the delivery's status now: pending, succeeded, failed, dead" }),
  at: Type.String({ format: "date-time" }),
  httpStatus: Nullable(Type.Integer()),
  latencyMs: Type.Integer(),
  error: Nullable(Type.String()),
  errorClass: ErrorClass,
  ...Exchange,
});
const AttemptQuery = Type.Object({
  ...PageQuery.properties,
  outcome: Type.Optional(Type.Union([Type.Literal("failed"), Type.Literal("succeeded")])),
  from: Type.Optional(Type.String({ format: "date-time", description: "attempts at or after" })),
  to: Type.Optional(Type.String({ format: "date-time", description: "attempts at or before" })),
});
type AttemptQuery = Static<typeof AttemptQuery>;

/** from/to as dates, refused when they make no range. */
export function timeRange(query: { from?: string | undefined; to?: string | undefined }) {
  const from = query.from ? new Date(query.from) : undefined;
  const to = query.to ? new Date(query.to) : undefined;
  if (from && to && from > to) throw new HttpError(400, "validation_failed", "from is after to", { from, to });
  return { ...(from ? { gte: from } : {}), ...(to ? { lte: to } : {}) };
}

interface CallRow {
  id: string;
  messageId: string;
  intent: string;
  ok: boolean;
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
  errorClass: string | null;
  replayOf: string | null;
  requestBody: string | null;
  requestHeaders: unknown;
  responseBody: string | null;
  createdAt: Date;
}
const exchangeView = (headers: unknown, request: string | null, response: string | null) => ({
  request: { headers: (headers ?? null) as Record<string, string> | null, body: redactBody(request) },
  response: { body: redactBody(response) },
});
export const callView = (c: CallRow): Static<typeof Call> => ({
  id: c.id,
  messageId: c.messageId,
  intent: c.intent,
  ok: c.ok,
  httpStatus: c.httpStatus,
  latencyMs: c.latencyMs,
  error: c.error,
  errorClass: c.errorClass,
  replayOf: c.replayOf,
  createdAt: c.createdAt.toISOString(),
  ...exchangeView(c.requestHeaders, c.requestBody, c.responseBody),
});

/**
 * Webhook health: success rate, latency and error classes per fulfillment endpoint and event
 * subscription, their recent attempts with what was sent and received, and the replay of a
 * fulfillment call (event deliveries replay in event-subscriptions.ts).
 */
export const webhookHealthRoutes: FastifyPluginAsyncTypebox<AdminApiOptions & { egress: EgressLike }> = async (
  app,
  { db, sealer, egress },
) => {
  const findEndpoint = async (request: FastifyRequest, id: string) => {
    const row = await db.fulfillmentEndpoint.findFirst({ where: { id, tenantId: tenantOf(request) } });
    if (!row) throw notFound("fulfillment endpoint");
    return row;
  };
  const findSubscription = async (request: FastifyRequest, id: string) => {
    const row = await db.eventSubscription.findFirst({ where: { id, tenantId: tenantOf(request) } });
    if (!row) throw notFound("event subscription");
    return row;
  };
  const window = (query: { window?: string | undefined }) => (query.window ?? "24h") as Window;

  app.get(
    "/v1/webhook-health",
    {
      schema: {
        tags: ["webhook health"],
        summary: "Every fulfillment endpoint and event subscription with its last 24 h and its state",
        response: { 200: Overview },
      },
    },
    async (request) => {
      requireScope(request, false);
      return overviewOf(db, tenantOf(request));
    },
  );

  app.get(
    "/v1/fulfillment-endpoints/:id/health",
    {
      schema: {
        tags: ["webhook health"],
        summary: "Success rate, latency and error classes of an endpoint's calls over a window, with chart buckets",
        params: UuidParams,
        querystring: WindowQuery,
        response: { 200: Health },
      },
    },
    async (request) => {
      requireScope(request, false);
      const row = await findEndpoint(request, request.params.id);
      return healthOf(db, "fulfillment", row, window(request.query));
    },
  );

  app.get(
    "/v1/event-subscriptions/:id/health",
    {
      schema: {
        tags: ["webhook health"],
        summary: "Success rate, latency and error classes of a subscription's delivery attempts over a window",
        params: UuidParams,
        querystring: WindowQuery,
        response: { 200: Health },
      },
    },
    async (request) => {
      requireScope(request, false);
      const row = await findSubscription(request, request.params.id);
      return healthOf(db, "subscription", row, window(request.query));
    },
  );

  app.get(
    "/v1/fulfillment-endpoints/:id/calls",
    {
      schema: {
        tags: ["webhook health"],
        summary: "An endpoint's calls, newest first, with the request and response (credentials redacted)",
        params: UuidParams,
        querystring: AttemptQuery,
        response: { 200: page(Call) },
      },
    },
    async (request) => {
      requireScope(request, false);
      const row = await findEndpoint(request, request.params.id);
      const { outcome } = request.query;
      const args = pageArgs(request.query);
      const rows = await db.fulfillmentCall.findMany({
        ...args,
        where: {
          AND: [
            args.where,
            { endpointId: row.id, createdAt: timeRange(request.query) },
            outcome ? { ok: outcome === "succeeded" } : {},
          ],
        },
      });
      return toPage(rows, request.query, callView);
    },
  );

  app.get(
    "/v1/event-subscriptions/:id/attempts",
    {
      schema: {
        tags: ["webhook health"],
        summary: "A subscription's delivery attempts, newest first, with the request and response",
        params: UuidParams,
        querystring: AttemptQuery,
        response: { 200: page(AttemptRow) },
      },
    },
    async (request) => {
      requireScope(request, false);
      const row = await findSubscription(request, request.params.id);
      const q: AttemptQuery = request.query;
      const take = pageArgs(q).take;
      let after: Prisma.DeliveryAttemptWhereInput = {};
      if (q.cursor) {
        const [at, id] = readCursor(q.cursor);
        after = { OR: [{ at: { lt: at } }, { at, id: { lt: id } }] };
      }
      const rows = await db.deliveryAttempt.findMany({
        take,
        where: {
          AND: [
            after,
            { subscriptionId: row.id, at: timeRange(q) },
            q.outcome ? { error: q.outcome === "succeeded" ? null : { not: null } } : {},
          ],
        },
        orderBy: [{ at: "desc" }, { id: "desc" }],
        include: { delivery: { select: { eventId: true, status: true, event: { select: { type: true } } } } },
      });
      const limit = take - 1;
      const shown = rows.slice(0, limit);
      const last = shown.at(-1);
      return {
        data: shown.map((a) => ({
          id: a.id,
          deliveryId: a.deliveryId,
          eventId: a.delivery.eventId,
          eventType: a.delivery.event.type,
          deliveryStatus: a.delivery.status,
          at: a.at.toISOString(),
          httpStatus: a.httpStatus,
          latencyMs: a.latencyMs,
          error: a.error,
          errorClass: a.errorClass,
          ...exchangeView(a.requestHeaders, a.requestBody, a.responseExcerpt),
        })),
        nextCursor: rows.length > limit && last ? cursorAt(last.at, last.id) : null,
      };
    },
  );

  app.post(
    "/v1/fulfillment-calls/:id/replay",
    {
      schema: {
        tags: ["webhook health"],
        summary:
          "Post a recorded call's request to its endpoint again, now, and record the new call; the customer is never " +
          "messaged (the answer is only recorded): for checking a fixed backend",
        params: UuidParams,
        response: { 200: Call },
      },
    },
    async (request) => {
      requireScope(request, "agent");
      const original = await db.fulfillmentCall.findFirst({
        where: { id: request.params.id, tenantId: tenantOf(request) },
        include: { endpoint: true },
      });
      if (!original) throw notFound("fulfillment call");
      if (original.requestBody === null)
        throw new HttpError(409, "not_recorded", "this call was made before requests were recorded");
      let recorded: WebhookRequest | undefined;
      try {
        recorded = JSON.parse(original.requestBody) as WebhookRequest;
      } catch {
        throw new HttpError(409, "request_truncated", "the request was larger than 16 KiB and was not kept whole");
      }
      if (typeof recorded?.responseId !== "string")
        throw new HttpError(409, "not_recorded", "what was recorded is not a WebhookRequest");
      const { endpoint } = original;
      const auth = endpoint.secrets ? sealer.openJson<EndpointAuth>(endpoint.secrets) : undefined;
      const result = await postOnce(
        egress,
        { id: endpoint.id, url: endpoint.url, timeoutMs: endpoint.timeoutMs, ...(auth ? { auth } : {}) },
        recorded,
      );
      const call = await db.fulfillmentCall.create({
        data: {
          tenantId: original.tenantId,
          messageId: original.messageId,
          endpointId: endpoint.id,
          intent: original.intent,
          ok: result.ok,
          httpStatus: result.ok ? result.httpStatus : (result.httpStatus ?? null),
          latencyMs: Math.round(result.latencyMs),
          error: result.ok ? null : result.error,
          errorClass: result.ok ? null : result.errorClass,
          // The original's own request, as kept (the live one is the same body, signed afresh).
          requestBody: original.requestBody,
          requestHeaders: result.exchange.requestHeaders,
          responseBody: result.exchange.responseBody ?? null,
          replayOf: original.replayOf ?? original.id,
        },
      });
      return callView(call);
    },
  );
};

type EgressLike = Parameters<typeof postOnce>[0];
