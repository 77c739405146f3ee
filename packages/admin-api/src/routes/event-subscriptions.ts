import { EVENT_TYPES, replayDelivery, replayFailed } from "@cb/event-webhooks";
import { HttpError } from "@cb/core";
import { generateSigningSecret } from "@cb/fulfillment";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { hint, notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import { concurrentChange, finishRotation, RotateBody, RotationFinished, startRotation } from "../rotation.ts";
import { redactBody } from "../redact.ts";
import { UuidParams } from "../schemas.ts";
import { Exchange, timeRange } from "./webhook-health.ts";

const EventTypes = Type.Array(Type.Union([...EVENT_TYPES, "*"].map((t) => Type.Literal(t))), {
  minItems: 1,
  uniqueItems: true,
});
const SubscriptionInput = Type.Object(
  { url: Type.String({ format: "uri", pattern: "^https?://", maxLength: 2000 }), eventTypes: EventTypes },
  { additionalProperties: false },
);
const SubscriptionPatch = Type.Partial(
  Type.Object({ url: SubscriptionInput.properties.url, eventTypes: EventTypes, enabled: Type.Boolean() }),
  { additionalProperties: false },
);
const Subscription = Type.Object({
  id: Type.String(),
  url: Type.String(),
  eventTypes: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  failingSince: Type.Union([Type.String(), Type.Null()]),
  degradedSince: Type.Union([Type.String(), Type.Null()], {
    description: "since when its failure rate is over the tenant's threshold (webhook health)",
  }),
  signingSecretHints: Type.Array(Type.String()),
  createdAt: Type.String(),
});
const Created = Type.Object({
  subscription: Subscription,
  signingSecret: Type.String({ description: "whsec_…, shown once" }),
});
const Delivery = Type.Object({
  id: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});
const Attempt = Type.Object({
  at: Type.String(),
  httpStatus: Type.Union([Type.Integer(), Type.Null()]),
  latencyMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  errorClass: Type.Union([Type.String(), Type.Null()]),
  responseExcerpt: Type.Union([Type.String(), Type.Null()], { description: "the response body, cut at 16 KiB" }),
  ...Exchange,
});
const ReplayBody = Type.Object(
  {
    from: Type.Optional(Type.String({ format: "date-time", description: "deliveries made at or after" })),
    to: Type.Optional(Type.String({ format: "date-time", description: "deliveries made at or before; default now" })),
    since: Type.Optional(
      Type.String({ format: "date-time", description: "the same as from (kept for older clients)" }),
    ),
  },
  { additionalProperties: false },
);

/** Event subscriptions, their deliveries and attempts, and replay. */
export const eventSubscriptionRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db, sealer }) => {
  type Row = {
    id: string;
    url: string;
    eventTypes: string[];
    enabled: boolean;
    disabledReason: string | null;
    failingSince: Date | null;
    degradedSince: Date | null;
    secrets: string;
    createdAt: Date;
  };
  const view = (row: Row) => ({
    id: row.id,
    url: row.url,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince?.toISOString() ?? null,
    degradedSince: row.degradedSince?.toISOString() ?? null,
    signingSecretHints: sealer.openJson<{ signingSecrets: string[] }>(row.secrets).signingSecrets.map(hint),
    createdAt: row.createdAt.toISOString(),
  });
  const deliveryView = (d: {
    id: string;
    eventId: string;
    status: string;
    attempts: number;
    nextAttemptAt: Date | null;
    lastError: string | null;
    createdAt: Date;
    event: { type: string };
  }) => ({
    id: d.id,
    eventId: d.eventId,
    eventType: d.event.type,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
  });
  const find = async (request: FastifyRequest, id: string) => {
    const row = await db.eventSubscription.findFirst({ where: { id, tenantId: tenantOf(request) } });
    if (!row) throw notFound("event subscription");
    return row;
  };

  app.get(
    "/v1/event-subscriptions",
    { schema: { tags: ["event webhooks"], querystring: PageQuery, response: { 200: page(Subscription) } } },
    async (request) => {
      requireScope(request, false);
      const args = pageArgs(request.query);
      return toPage(
        await db.eventSubscription.findMany({ ...args, where: { ...args.where, tenantId: tenantOf(request) } }),
        request.query,
        view,
      );
    },
  );
  app.get(
    "/v1/event-subscriptions/:id",
    { schema: { tags: ["event webhooks"], params: UuidParams, response: { 200: Subscription } } },
    async (request) => {
      requireScope(request, false);
      return view(await find(request, request.params.id));
    },
  );
  app.post(
    "/v1/event-subscriptions",
    {
      schema: {
        tags: ["event webhooks"],
        summary: "Subscribe an endpoint; deliveries are signed (Standard Webhooks) with a secret shown only here",
        body: SubscriptionInput,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      const signingSecret = generateSigningSecret();
      const row = await db.eventSubscription.create({
        data: {
          tenantId: tenantOf(request),
          url: request.body.url,
          eventTypes: request.body.eventTypes,
          secrets: sealer.sealJson({ signingSecrets: [signingSecret] }),
        },
      });
      return reply.code(201).send({ subscription: view(row), signingSecret });
    },
  );
  app.patch(
    "/v1/event-subscriptions/:id",
    {
      schema: {
        tags: ["event webhooks"],
        summary: "Change it, or re-enable a disabled one",
        params: UuidParams,
        body: SubscriptionPatch,
        response: { 200: Subscription },
      },
    },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      const reenabled = request.body.enabled === true ? { disabledReason: null, failingSince: null } : {};
      return view(
        await db.eventSubscription.update({ where: { id: row.id }, data: { ...request.body, ...reenabled } }),
      );
    },
  );
  const secretsOf = (row: Row) => sealer.openJson<{ signingSecrets: string[] }>(row.secrets).signingSecrets;
  // Compare-and-set on the sealed value, so two concurrent rotations cannot both win.
  const saveSecrets = async (row: Row, signingSecrets: string[]) => {
    const { count } = await db.eventSubscription.updateMany({
      where: { id: row.id, secrets: row.secrets },
      data: { secrets: sealer.sealJson({ signingSecrets }) },
    });
    if (count === 0) throw concurrentChange();
    return db.eventSubscription.findUniqueOrThrow({ where: { id: row.id } });
  };
  app.post(
    "/v1/event-subscriptions/:id/rotate-secret",
    {
      schema: {
        tags: ["event webhooks"],
        summary: "Start a signing-secret rotation: a new secret signs beside the current one until it is finished",
        params: UuidParams,
        body: RotateBody,
        response: { 200: Created },
      },
    },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      const { secrets, signingSecret } = startRotation(secretsOf(row), request.body.keepPrevious !== false);
      return { subscription: view(await saveSecrets(row, secrets)), signingSecret };
    },
  );
  app.post(
    "/v1/event-subscriptions/:id/rotate-secret/finish",
    {
      schema: {
        tags: ["event webhooks"],
        summary: "Finish a rotation: only the newest secret signs from now on (with nothing to finish, a no-op)",
        params: UuidParams,
        response: { 200: RotationFinished(Subscription, "subscription") },
      },
    },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      const before = secretsOf(row);
      const kept = finishRotation(before);
      const updated = kept.length === before.length ? row : await saveSecrets(row, kept);
      return { subscription: view(updated), removedSecrets: before.length - kept.length };
    },
  );
  app.delete(
    "/v1/event-subscriptions/:id",
    { schema: { tags: ["event webhooks"], params: UuidParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      requireScope(request, true);
      await db.eventSubscription.delete({ where: { id: (await find(request, request.params.id)).id } });
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/v1/event-subscriptions/:id/deliveries",
    {
      schema: {
        tags: ["event webhooks"],
        params: UuidParams,
        querystring: PageQuery,
        response: { 200: page(Delivery) },
      },
    },
    async (request) => {
      requireScope(request, false);
      const row = await find(request, request.params.id);
      const args = pageArgs(request.query);
      const rows = await db.eventDelivery.findMany({
        ...args,
        where: { ...args.where, subscriptionId: row.id },
        include: { event: { select: { type: true } } },
      });
      return toPage(rows, request.query, deliveryView);
    },
  );
  app.get(
    "/v1/deliveries/:id",
    {
      schema: {
        tags: ["event webhooks"],
        params: UuidParams,
        response: { 200: Type.Object({ delivery: Delivery, event: Type.Unknown(), attempts: Type.Array(Attempt) }) },
      },
    },
    async (request) => {
      requireScope(request, false);
      const d = await db.eventDelivery.findFirst({
        where: { id: request.params.id, tenantId: tenantOf(request) },
        include: { event: true, attemptLog: { orderBy: { at: "asc" } } },
      });
      if (!d) throw notFound("delivery");
      return {
        delivery: deliveryView(d),
        event: {
          id: d.event.id,
          type: d.event.type,
          version: d.event.version,
          createdAt: d.event.createdAt.toISOString(),
          data: d.event.data,
        },
        attempts: d.attemptLog.map((a) => ({
          at: a.at.toISOString(),
          httpStatus: a.httpStatus,
          latencyMs: a.latencyMs,
          error: a.error,
          errorClass: a.errorClass,
          responseExcerpt: redactBody(a.responseExcerpt),
          request: { headers: a.requestHeaders as Record<string, string> | null, body: redactBody(a.requestBody) },
          response: { body: redactBody(a.responseExcerpt) },
        })),
      };
    },
  );
  app.post(
    "/v1/deliveries/:id/replay",
    {
      schema: {
        tags: ["event webhooks"],
        summary: "Deliver one event again (0 while it is pending: an attempt is already on its way)",
        params: UuidParams,
        response: { 202: Type.Object({ replayed: Type.Integer() }) },
      },
    },
    async (request, reply) => {
      requireScope(request, "agent");
      const replayed = await replayDelivery(db, tenantOf(request), request.params.id);
      if (replayed === null) throw notFound("delivery");
      return reply.code(202).send({ replayed });
    },
  );
  app.post(
    "/v1/event-subscriptions/:id/replay",
    {
      schema: {
        tags: ["event webhooks"],
        summary:
          "Deliver again every delivery that failed or was given up in a time range; those already pending are not " +
          "queued twice",
        params: UuidParams,
        body: ReplayBody,
        response: { 202: Type.Object({ replayed: Type.Integer() }) },
      },
    },
    async (request, reply) => {
      requireScope(request, "agent");
      const { since, ...range } = request.body;
      if (since && range.from)
        throw new HttpError(400, "validation_failed", "give from (or since, its older name), not both");
      const { gte: from, lte: to } = timeRange({ ...range, from: range.from ?? since });
      if (!from) throw new HttpError(400, "validation_failed", "from is required");
      const replayed = await replayFailed(db, tenantOf(request), request.params.id, { from, to });
      if (replayed === null) throw notFound("event subscription");
      return reply.code(202).send({ replayed });
    },
  );
  app.post(
    "/v1/event-subscriptions/:id/enable",
    {
      schema: {
        tags: ["event webhooks"],
        summary:
          "Re-enable a disabled subscription: its failure count starts again (failingSince cleared); what was given up " +
          "while disabled is replayed only on request",
        params: UuidParams,
        response: { 200: Subscription },
      },
    },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      return view(
        await db.eventSubscription.update({
          where: { id: row.id },
          data: { enabled: true, disabledReason: null, failingSince: null },
        }),
      );
    },
  );
};
