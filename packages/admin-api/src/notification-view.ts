import type { Db } from "@cb/db";
import { Type, type Static } from "typebox";

const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

/** A notification as the API shows it: a rule's, a reminder or a follow-up, and where it stands. */
export const Notification = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal("rule"), Type.Literal("reminder"), Type.Literal("followup")]),
  eventId: nullable(Type.String({ description: "the order event's id (rules)" })),
  ruleId: nullable(Type.String()),
  contactId: nullable(Type.String()),
  conversationId: nullable(Type.String({ description: "follow-ups" })),
  status: Type.String({
    description: "scheduled | queued | deferred | sent | failed | skipped | cancelled",
  }),
  reason: nullable(Type.String()),
  dueAt: nullable(Type.String({ format: "date-time", description: "when a scheduled one is sent" })),
  messageStatus: nullable(Type.String()),
  createdAt: Type.String(),
});

interface Row {
  id: string;
  kind: string;
  ruleId: string | null;
  contactId: string | null;
  conversationId: string | null;
  status: string;
  reason: string | null;
  dueAt: Date | null;
  messageId: string | null;
  createdAt: Date;
  orderEvent: { eventId: string } | null;
}

/** The status of the messages the notifications sent (delivered, read…), by message id. */
export async function messageStatuses(db: Db, rows: { messageId: string | null }[]): Promise<Map<string, string>> {
  const ids = rows.flatMap((r) => (r.messageId ? [r.messageId] : []));
  if (!ids.length) return new Map();
  const messages = await db.message.findMany({ where: { id: { in: ids } }, select: { id: true, status: true } });
  return new Map(messages.map((m) => [m.id, m.status]));
}

export const notificationView =
  (messages: Map<string, string>) =>
  (r: Row): Static<typeof Notification> => ({
    id: r.id,
    kind: r.kind as Static<typeof Notification>["kind"],
    eventId: r.orderEvent?.eventId ?? null,
    ruleId: r.ruleId,
    contactId: r.contactId,
    conversationId: r.conversationId,
    status: r.status,
    reason: r.reason,
    dueAt: r.dueAt?.toISOString() ?? null,
    messageStatus: r.messageId ? (messages.get(r.messageId) ?? null) : null,
    createdAt: r.createdAt.toISOString(),
  });
