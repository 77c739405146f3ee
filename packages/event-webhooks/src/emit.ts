import { randomBytes } from "node:crypto";
import type { Prisma } from "@cb/db";
import { addJob } from "@cb/jobs";

export const DELIVER_EVENT = "deliver-event";

/** Event types and what their `data` holds (documented in the package README). */
export const EVENT_TYPES = [
  "conversation.started",
  "message.received",
  "intent.matched",
  "fulfillment.failed",
  "message.sent",
  "message.failed",
  "handoff.requested",
  "notification.sent",
  "notification.failed",
  "notification.skipped",
  "endpoint.disabled",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

type Tx = Prisma.TransactionClient;

/**
 * Records an event and queues one delivery per enabled subscription that wants it, in the caller's
 * transaction: the event exists exactly when what it reports was committed. With no subscriber
 * nothing is written.
 */
export async function emitEvent(tx: Tx, event: { tenantId: string; type: EventType; data: Record<string, unknown> }): Promise<string | null> {
  const subscriptions = await tx.eventSubscription.findMany({
    where: { tenantId: event.tenantId, enabled: true, OR: [{ eventTypes: { has: event.type } }, { eventTypes: { has: "*" } }] },
    select: { id: true },
  });
  if (!subscriptions.length) return null;
  const id = `evt_${randomBytes(16).toString("base64url")}`;
  await tx.event.create({ data: { id, tenantId: event.tenantId, type: event.type, data: event.data as Prisma.InputJsonValue } });
  for (const s of subscriptions) {
    const delivery = await tx.eventDelivery.create({ data: { tenantId: event.tenantId, eventId: id, subscriptionId: s.id }, select: { id: true } });
    await addJob(tx, DELIVER_EVENT, { deliveryId: delivery.id }, { jobKey: `delivery:${delivery.id}`, maxAttempts: 3 });
  }
  return id;
}
