import { channelNames } from "@cb/channels";
import { HttpError } from "@cb/core";
import { prismaSql, type Prisma } from "@cb/db";
import { addDuration, cancelScheduled, parseDuration, scheduleNotification } from "@cb/conversation";
import { quietUntil, type ReminderContent } from "@cb/notifications";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { parsePhoneNumberFromString } from "libphonenumber-js";
import { Type } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { messageStatuses, Notification, notificationView } from "../notification-view.ts";
import { Channel, IsoDuration, outsideWindowFields, UuidParams } from "../schemas.ts";

const ScheduledMessageInput = Type.Object(
  {
    contactId: Type.Optional(Type.String({ format: "uuid" })),
    contact: Type.Optional(
      Type.Object(
        {
          customerId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          phone: Type.Optional(
            Type.String({ minLength: 5, maxLength: 40, description: "any notation; E.164 is matched" }),
          ),
          email: Type.Optional(Type.String({ format: "email", maxLength: 320 })),
        },
        {
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          description: "find the contact by one of these",
        },
      ),
    ),
    at: Type.Optional(Type.String({ format: "date-time", description: "when, with its UTC offset" })),
    after: Type.Optional({ ...IsoDuration, description: "or this long from now, in the contact's time zone" }),
    message: Type.Object(
      {
        text: Type.String({ minLength: 1, maxLength: 4096 }),
        ...outsideWindowFields(
          Type.Object({
            template: Type.String({ minLength: 1, maxLength: 512 }),
            language: Type.String({ minLength: 2, maxLength: 15 }),
            parameters: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 20 })),
          }),
          true,
        ),
      },
      { additionalProperties: false },
    ),
    channelOrder: Type.Optional(
      Type.Array(Channel, {
        minItems: 1,
        uniqueItems: true,
        description: `default: ${channelNames.join(", ")}`,
      }),
    ),
    idempotencyKey: Type.String({ minLength: 1, maxLength: 200, description: "the same key schedules once" }),
  },
  { additionalProperties: false },
);

/** The longest a reminder may be scheduled ahead. */
const MAX_AHEAD_MS = 400 * 24 * 3600_000;

/** Reminders through the API, and cancelling any scheduled notification. */
export const scheduledMessageRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  const view = async (tenantId: string, id: string) => {
    const row = await db.notification.findFirst({
      where: { id, tenantId },
      include: { orderEvent: { select: { eventId: true } } },
    });
    if (!row) throw notFound("notification");
    return notificationView(await messageStatuses(db, [row]))(row);
  };

  app.post(
    "/v1/scheduled-messages",
    {
      schema: {
        tags: ["notifications"],
        summary:
          "Send a contact a message at a time (`at`) or after a while (`after`), under the same platform rules as notifications; listed and cancelled as notifications",
        body: ScheduledMessageInput,
        response: { 202: Notification },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      const tenantId = tenantOf(request);
      const body = request.body;
      if ((body.contactId === undefined) === (body.contact === undefined))
        throw new HttpError(400, "invalid_body", "give exactly one of contactId and contact");
      if ((body.at === undefined) === (body.after === undefined))
        throw new HttpError(400, "invalid_body", "give exactly one of at and after");
      const match = body.contact;
      const contact = await db.contact.findFirst({
        where: {
          tenantId,
          ...(body.contactId ? { id: body.contactId } : {}),
          ...(match?.customerId ? { customerId: match.customerId } : {}),
          ...(match?.phone ? { phone: parsePhoneNumberFromString(match.phone)?.number ?? match.phone } : {}),
          ...(match?.email ? { email: match.email.toLowerCase() } : {}),
        },
      });
      if (!contact) throw notFound("contact");
      const tenant = await db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
      const zone = contact.timezone ?? tenant.timezone;
      const now = new Date();
      let due: Date;
      if (body.after !== undefined) {
        const duration = parseDuration(body.after);
        if (!duration || duration.as("milliseconds") < 0)
          throw new HttpError(400, "invalid_body", "`after` must be a positive ISO 8601 duration");
        due = addDuration(now, duration, zone);
      } else due = new Date(body.at!);
      if (due.getTime() - now.getTime() > MAX_AHEAD_MS)
        throw new HttpError(400, "invalid_body", "a message can be scheduled at most 400 days ahead");
      const quiet = quietUntil(
        tenant.notificationSettings as { quietHours?: { start: string; end: string } },
        zone,
        due,
      );
      const content: ReminderContent = {
        message: body.message,
        ...(body.channelOrder ? { channelOrder: body.channelOrder } : {}),
      };
      const { id } = await db.$transaction((tx: Prisma.TransactionClient) =>
        scheduleNotification(prismaSql(tx), {
          tenantId,
          kind: "reminder",
          dueAt: quiet ?? due,
          contactId: contact.id,
          content,
          idempotencyKey: `reminder:${body.idempotencyKey}`,
          ...(quiet ? { reason: `quiet hours until ${quiet.toISOString()}` } : {}),
        }),
      );
      return reply.code(202).send(await view(tenantId, id));
    },
  );

  app.post(
    "/v1/notifications/:id/cancel",
    {
      schema: {
        tags: ["notifications"],
        summary:
          "Cancel a scheduled notification (a delayed rule's, a reminder, a follow-up): 409 once it is being sent or done",
        params: UuidParams,
        response: { 200: Notification },
      },
    },
    async (request) => {
      requireScope(request, true);
      const tenantId = tenantOf(request);
      const current = await view(tenantId, request.params.id);
      const [cancelled] = await db.$transaction((tx: Prisma.TransactionClient) =>
        cancelScheduled(prismaSql(tx), [current.id], "cancelled through the API"),
      );
      if (!cancelled && current.status !== "cancelled")
        throw new HttpError(409, "not_scheduled", `the notification is ${current.status}, no longer scheduled`);
      return view(tenantId, current.id);
    },
  );
};
