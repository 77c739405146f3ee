import { generateSigningSecret } from "@cb/fulfillment";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { parsePhoneNumberFromString } from "libphonenumber-js";
import { Type, type Static } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { unique } from "../errors.ts";
import { assertTimeZone } from "../time-zone.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import { messageStatuses, Notification, notificationView } from "../notification-view.ts";
import { Channel, IsoDuration, outsideWindowFields, UuidParams } from "../schemas.ts";

const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: "IANA time zone (quiet hours and local-time delays); the tenant's when absent",
});
const RuleDelay = Type.Union(
  [
    IsoDuration,
    Type.Object(
      {
        at: Type.String({ pattern: "^\\$", maxLength: 500, description: "JSONPath to a time in the event" }),
        offset: Type.Optional(IsoDuration),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      "send later: a duration after the event, or a time in the event plus an offset (-PT2H: 2 hours before)",
  },
);
const Identity = Type.Object({
  channelAccountId: Type.String({ format: "uuid" }),
  externalId: Type.String({ minLength: 1 }),
});
const ContactInput = Type.Object(
  {
    customerId: Type.Optional(Type.String({ minLength: 1 })),
    phone: Type.Optional(Type.String({ minLength: 5, description: "normalized to E.164" })),
    email: Type.Optional(Type.String({ format: "email" })),
    name: Type.Optional(Type.String()),
    timezone: Type.Optional(TimeZone),
    identities: Type.Optional(Type.Array(Identity)),
  },
  { additionalProperties: false },
);
// Null first: the server coerces types, and a string branch tried first would take null as "".
const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) =>
  Type.Optional(Type.Union([Type.Null(), schema]));
const ContactPatch = Type.Object(
  {
    customerId: nullable(Type.String({ minLength: 1 })),
    phone: nullable(Type.String({ minLength: 5, description: "normalized to E.164" })),
    email: nullable(Type.String({ format: "email" })),
    name: nullable(Type.String()),
    timezone: nullable(TimeZone),
    identities: Type.Optional(Type.Array(Identity, { description: "replaces the contact's identities" })),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: "the fields given replace the contact's; null clears one",
  },
);
const Contact = Type.Object({
  id: Type.String(),
  customerId: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String(), Type.Null()]),
  email: Type.Union([Type.String(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  timezone: Type.Union([Type.String(), Type.Null()]),
  optedOut: Type.Boolean(),
  identities: Type.Array(Identity),
  createdAt: Type.String(),
});
const RuleInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    eventType: Type.String({ minLength: 1 }),
    conditions: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    template: Type.Object({
      text: Type.String({ minLength: 1 }),
      ...outsideWindowFields(
        Type.Object({
          template: Type.String(),
          language: Type.String(),
          parameters: Type.Optional(Type.Array(Type.String())),
        }),
        false,
      ),
    }),
    contactMatch: Type.Object({
      by: Type.Union([Type.Literal("customerId"), Type.Literal("phone"), Type.Literal("email")]),
      path: Type.String({ pattern: "^\\$" }),
    }),
    channelOrder: Type.Array(Channel, {
      minItems: 1,
      uniqueItems: true,
    }),
    enabled: Type.Optional(Type.Boolean()),
    delay: Type.Optional(RuleDelay),
    cancelOn: Type.Optional(
      Type.Array(
        Type.Object(
          {
            eventType: Type.String({ minLength: 1, maxLength: 200 }),
            match: Type.Union([Type.Literal("subject"), Type.Literal("contact")], {
              description: "the same subject, or the same contact as the rule's contactMatch reads it from that event",
            }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 20, description: "events that cancel this rule's pending notifications" },
      ),
    ),
    replace: Type.Optional(
      Type.Boolean({
        description:
          "a later event for the same subject replaces the pending notification (debounce); delayed rules only",
      }),
    ),
  },
  { additionalProperties: false },
);
const Rule = Type.Object({
  ...RuleInput.properties,
  delay: Type.Union([RuleDelay, Type.Null()]),
  cancelOn: Type.Array(Type.Object({ eventType: Type.String(), match: Type.String() })),
  replace: Type.Boolean(),
  enabled: Type.Boolean(),
  conditions: Type.Array(Type.String()),
  id: Type.String(),
  createdAt: Type.String(),
});

/** Contacts and their channel identities, notification rules, the events secret, and notifications (read). */
export const notificationRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db, sealer }) => {
  type ContactRow = {
    id: string;
    customerId: string | null;
    phone: string | null;
    email: string | null;
    name: string | null;
    timezone: string | null;
    optedOutAt: Date | null;
    createdAt: Date;
    identities: { channelAccountId: string; externalId: string }[];
  };
  const contactView = (c: ContactRow) => ({
    id: c.id,
    customerId: c.customerId,
    phone: c.phone,
    email: c.email,
    name: c.name,
    timezone: c.timezone,
    optedOut: c.optedOutAt !== null,
    identities: c.identities.map((i) => ({ channelAccountId: i.channelAccountId, externalId: i.externalId })),
    createdAt: c.createdAt.toISOString(),
  });
  /** Phone numbers to E.164 and e-mail addresses to lower case; null (clear) and absent (keep) stay as they are. */
  const normalized = (phone: string | null | undefined, email: string | null | undefined) => ({
    ...(phone !== undefined
      ? { phone: phone === null ? null : (parsePhoneNumberFromString(phone)?.number ?? phone) }
      : {}),
    ...(email !== undefined ? { email: email === null ? null : email.toLowerCase() } : {}),
  });
  /** Identities may name only the tenant's own channel accounts. */
  const checkIdentities = async (tenantId: string, identities: { channelAccountId: string }[]) => {
    const ids = new Set(identities.map((i) => i.channelAccountId));
    const own = await db.channelAccount.count({ where: { tenantId, id: { in: [...ids] } } });
    if (own !== ids.size) throw notFound("channel account");
  };
  const findContact = async (request: FastifyRequest, id: string) => {
    const row = await db.contact.findFirst({
      where: { id, tenantId: tenantOf(request) },
      include: { identities: true },
    });
    if (!row) throw notFound("contact");
    return row;
  };
  const ruleView = (r: {
    id: string;
    name: string;
    eventType: string;
    conditions: string[];
    template: unknown;
    contactMatch: unknown;
    channelOrder: string[];
    enabled: boolean;
    delay: unknown;
    cancelOn: unknown;
    replace: boolean;
    createdAt: Date;
  }) => ({
    ...r,
    delay: (r.delay ?? null) as Static<typeof RuleDelay> | null,
    cancelOn: r.cancelOn as { eventType: string; match: string }[],
    template: r.template as Static<typeof RuleInput>["template"],
    contactMatch: r.contactMatch as Static<typeof RuleInput>["contactMatch"],
    channelOrder: r.channelOrder as Static<typeof RuleInput>["channelOrder"],
    createdAt: r.createdAt.toISOString(),
  });

  app.post(
    "/v1/events-secret",
    {
      schema: {
        tags: ["notifications"],
        summary: "Create or replace the Standard Webhooks secret order systems sign events with (shown once)",
        response: { 201: Type.Object({ secret: Type.String(), url: Type.String() }) },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      const tenantId = tenantOf(request);
      const secret = generateSigningSecret();
      await db.tenant.update({ where: { id: tenantId }, data: { eventsSecret: sealer.seal(secret) } });
      return reply.code(201).send({ secret, url: `/v1/tenants/${tenantId}/events` });
    },
  );

  app.get(
    "/v1/contacts",
    { schema: { tags: ["notifications"], querystring: PageQuery, response: { 200: page(Contact) } } },
    async (request) => {
      requireScope(request, false);
      const args = pageArgs(request.query);
      return toPage(
        await db.contact.findMany({
          ...args,
          where: { ...args.where, tenantId: tenantOf(request) },
          include: { identities: true },
        }),
        request.query,
        contactView,
      );
    },
  );
  app.get(
    "/v1/contacts/:id",
    { schema: { tags: ["notifications"], params: UuidParams, response: { 200: Contact } } },
    async (request) => {
      requireScope(request, false);
      return contactView(await findContact(request, request.params.id));
    },
  );
  app.post(
    "/v1/contacts",
    { schema: { tags: ["notifications"], body: ContactInput, response: { 201: Contact } } },
    async (request, reply) => {
      requireScope(request, true);
      const tenantId = tenantOf(request);
      const { identities = [], phone, email, ...rest } = request.body;
      assertTimeZone(rest.timezone);
      await checkIdentities(tenantId, identities);
      const row = await unique(
        () =>
          db.contact.create({
            data: {
              tenantId,
              ...rest,
              ...normalized(phone, email),
              identities: { create: identities.map((i) => ({ ...i, tenantId })) },
            },
            include: { identities: true },
          }),
        "a contact with this customer id or identity exists",
      );
      return reply.code(201).send(contactView(row));
    },
  );
  app.patch(
    "/v1/contacts/:id",
    {
      schema: {
        tags: ["notifications"],
        summary: "Change a contact: the fields given replace its own (identities as a whole); null clears a field",
        params: UuidParams,
        body: ContactPatch,
        response: { 200: Contact },
      },
    },
    async (request) => {
      requireScope(request, true);
      const { id, tenantId } = await findContact(request, request.params.id);
      const { identities, phone, email, ...rest } = request.body;
      assertTimeZone(rest.timezone);
      if (identities) await checkIdentities(tenantId, identities);
      const row = await unique(
        () =>
          db.contact.update({
            where: { id },
            data: {
              ...rest,
              ...normalized(phone, email),
              // A nested write is one transaction: the old identities go and the new come, or neither.
              ...(identities
                ? { identities: { deleteMany: {}, create: identities.map((i) => ({ ...i, tenantId })) } }
                : {}),
            },
            include: { identities: true },
          }),
        "a contact with this customer id or identity exists",
      );
      return contactView(row);
    },
  );
  app.delete(
    "/v1/contacts/:id",
    { schema: { tags: ["notifications"], params: UuidParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      requireScope(request, true);
      await db.contact.delete({ where: { id: (await findContact(request, request.params.id)).id } });
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/v1/notification-rules",
    { schema: { tags: ["notifications"], querystring: PageQuery, response: { 200: page(Rule) } } },
    async (request) => {
      requireScope(request, false);
      const args = pageArgs(request.query);
      return toPage(
        await db.notificationRule.findMany({ ...args, where: { ...args.where, tenantId: tenantOf(request) } }),
        request.query,
        ruleView,
      );
    },
  );
  app.post(
    "/v1/notification-rules",
    { schema: { tags: ["notifications"], body: RuleInput, response: { 201: Rule } } },
    async (request, reply) => {
      requireScope(request, true);
      const row = await unique(
        () =>
          db.notificationRule.create({
            data: {
              ...request.body,
              conditions: request.body.conditions ?? [],
              ...(request.body.delay !== undefined ? { delay: request.body.delay } : {}),
              tenantId: tenantOf(request),
            },
          }),
        `a rule named "${request.body.name}" exists`,
      );
      return reply.code(201).send(ruleView(row));
    },
  );
  app.delete(
    "/v1/notification-rules/:id",
    { schema: { tags: ["notifications"], params: UuidParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      requireScope(request, true);
      const { count } = await db.notificationRule.deleteMany({
        where: { id: request.params.id, tenantId: tenantOf(request) },
      });
      if (!count) throw notFound("notification rule");
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/v1/notifications",
    {
      schema: {
        tags: ["notifications"],
        summary:
          "Each notification's life: scheduled (with when it is due), queued, deferred, sent, failed, skipped or cancelled (with the reason); delivered / read from the message",
        querystring: PageQuery,
        response: { 200: page(Notification) },
      },
    },
    async (request) => {
      requireScope(request, false);
      const args = pageArgs(request.query);
      const rows = await db.notification.findMany({
        ...args,
        where: { ...args.where, tenantId: tenantOf(request) },
        include: { orderEvent: { select: { eventId: true } } },
      });
      return toPage(rows, request.query, notificationView(await messageStatuses(db, rows)));
    },
  );
};
