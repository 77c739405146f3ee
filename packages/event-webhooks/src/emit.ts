import { randomBytes, randomUUID } from "node:crypto";
import type { Sql } from "@cb/db";
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

export interface NewEvent {
  type: EventType;
  data: Record<string, unknown>;
}

/**
 * Records events and queues one delivery per enabled subscription that wants each, in the caller's
 * transaction: an event exists exactly when what it reports was committed. With no subscriber
 * nothing is written. Returns the event ids (null for an event nobody wanted), in order.
 */
export async function emitEvents(sql: Sql, tenantId: string, events: NewEvent[]): Promise<(string | null)[]> {
  if (!events.length) return [];
  const { rows: subscriptions } = await sql.query<{ id: string; eventTypes: string[] }>(
    `SELECT id, "eventTypes" FROM "EventSubscription" WHERE "tenantId" = $1::uuid AND enabled AND "eventTypes" && $2::text[] ORDER BY "createdAt"`,
    [tenantId, ["*", ...new Set(events.map((e) => e.type))]],
  );
  const ids: (string | null)[] = [];
  for (const event of events) {
    const wanted = subscriptions.filter((s) => s.eventTypes.includes(event.type) || s.eventTypes.includes("*"));
    if (!wanted.length) {
      ids.push(null);
      continue;
    }
    const id = `evt_${randomBytes(16).toString("base64url")}`;
    await sql.query(`INSERT INTO "Event" (id, "tenantId", type, data) VALUES ($1, $2::uuid, $3, $4::jsonb)`, [id, tenantId, event.type, JSON.stringify(event.data)]);
    for (const subscription of wanted) {
      const deliveryId = randomUUID();
      await sql.query(`INSERT INTO "EventDelivery" (id, "tenantId", "eventId", "subscriptionId", "updatedAt") VALUES ($1::uuid, $2::uuid, $3, $4::uuid, now())`, [deliveryId, tenantId, id, subscription.id]);
      await addJob(sql, DELIVER_EVENT, { deliveryId }, { jobKey: `delivery:${deliveryId}`, maxAttempts: 3 });
    }
    ids.push(id);
  }
  return ids;
}

/** One event; see emitEvents. */
export async function emitEvent(sql: Sql, event: NewEvent & { tenantId: string }): Promise<string | null> {
  const [id] = await emitEvents(sql, event.tenantId, [{ type: event.type, data: event.data }]);
  return id ?? null;
}
