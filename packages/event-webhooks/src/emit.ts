import { randomBytes } from "node:crypto";
import type { Sql } from "@cb/db";

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
  "handoff.assigned",
  "handoff.ended",
  "notification.sent",
  "notification.failed",
  "notification.skipped",
  "notification.cancelled",
  "endpoint.disabled",
  "endpoint.degraded",
  "endpoint.recovered",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface NewEvent {
  type: EventType;
  data: Record<string, unknown>;
}

// One statement records the events that some enabled subscription wants, one delivery per such
// subscription, and a job per delivery: atomic by itself, one round trip. $1 tenant id, $2 event
// ids, $3 types, $4 data, in order; callers may put their own CTEs in front (see withEvents).
// An endpoint.* event about a subscription is not delivered to that subscription: a failing
// endpoint would only fail it again (and add to the failures the event reports).
const EVENT_CTES = `
events_in AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS e(id, type, data, n)
), wanted AS MATERIALIZED (
  SELECT e.id AS event_id, e.type, e.data, e.n, s.id AS subscription_id, gen_random_uuid() AS delivery_id
  FROM events_in e JOIN "EventSubscription" s
    ON s."tenantId" = $1::uuid AND s.enabled AND (e.type = ANY(s."eventTypes") OR '*' = ANY(s."eventTypes"))
    AND NOT (e.type LIKE 'endpoint.%' AND e.data->>'subscriptionId' IS NOT DISTINCT FROM s.id::text)
), stored_events AS (
  INSERT INTO "Event" (id, "tenantId", type, data)
  SELECT DISTINCT ON (event_id) event_id, $1::uuid, type, data FROM wanted
  RETURNING id
), stored_deliveries AS (
  INSERT INTO "EventDelivery" (id, "tenantId", "eventId", "subscriptionId", "updatedAt")
  SELECT delivery_id, $1::uuid, event_id, subscription_id, now() FROM wanted
)`;

const EVENT_RESULT = `
SELECT (SELECT array_agg(id) FROM stored_events) AS stored,
  CASE WHEN EXISTS (SELECT 1 FROM wanted) THEN (SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
    SELECT ('${DELIVER_EVENT}', json_build_object('deliveryId', delivery_id), NULL, NULL, 3, 'delivery:' || delivery_id, NULL, NULL)::graphile_worker.job_spec
    FROM wanted ORDER BY n
  ))) END AS queued`;

/**
 * The events statement with the caller's CTEs (using $5 and up) run in the same statement, and any
 * columns of the caller's own after `stored` and `queued`.
 */
export function withEvents(ctes: string[], columns: string[] = []): string {
  return `WITH ${[...ctes, EVENT_CTES].join(",\n")}${[EVENT_RESULT, ...columns].join(",\n  ")}`;
}

/** The parameters for withEvents' $1 to $4; event ids are made here, kept only when wanted. */
export function eventParameters(tenantId: string, events: NewEvent[]): { values: unknown[]; ids: string[] } {
  const ids = events.map(() => `evt_${randomBytes(16).toString("base64url")}`);
  return { ids, values: [tenantId, ids, events.map((e) => e.type), events.map((e) => JSON.stringify(e.data))] };
}

/** The ids of the events that were stored (some subscription wanted them), null for the others. */
function storedIds(ids: string[], row: { stored: string[] | null } | undefined): (string | null)[] {
  const stored = new Set(row?.stored ?? []);
  return ids.map((id) => (stored.has(id) ? id : null));
}

const EMIT_EVENTS = withEvents([]);

/**
 * Records events and queues one delivery per enabled subscription that wants each, in the caller's
 * transaction: an event exists exactly when what it reports was committed. With no subscriber
 * nothing is written. Returns the event ids (null for an event nobody wanted), in order.
 */
export async function emitEvents(sql: Sql, tenantId: string, events: NewEvent[]): Promise<(string | null)[]> {
  if (!events.length) return [];
  const { ids, values } = eventParameters(tenantId, events);
  const { rows } = await sql.query<{ stored: string[] | null }>({ name: "emit-events", text: EMIT_EVENTS, values });
  return storedIds(ids, rows[0]);
}

/** One event; see emitEvents. */
export async function emitEvent(sql: Sql, event: NewEvent & { tenantId: string }): Promise<string | null> {
  const [id] = await emitEvents(sql, event.tenantId, [{ type: event.type, data: event.data }]);
  return id ?? null;
}
