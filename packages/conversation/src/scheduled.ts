import { randomUUID } from "node:crypto";
import { transaction, type Pool, type Sql } from "@cb/db";
import { emitEvents } from "@cb/event-webhooks";
import type { FollowupSchedule } from "@cb/fulfillment";
import { addJob } from "@cb/jobs";
import { DateTime, Duration } from "luxon";
import { CONVERSATION_QUEUE_PREFIX } from "./expand.ts";

// Scheduled notifications (delayed rules, reminders, follow-ups) are stored here, below both the
// turn (which schedules follow-ups with its plan) and @cb/notifications (which sends them).

/** An ISO 8601 duration (`PT2H`, `-PT30M`, `P1DT12H`), or null when it is not one. */
export function parseDuration(iso: string): Duration | null {
  const duration = Duration.fromISO(iso);
  return duration.isValid ? duration : null;
}

/**
 * `start` plus a duration in the time zone `zone`: days, weeks, months and years keep the local
 * wall-clock time across a DST change (P1D from 10:00 is 10:00 the next day, 23 or 25 hours later),
 * hours and smaller are exact elapsed time (PT24H is always 24 hours).
 */
export function addDuration(start: Date, duration: Duration, zone: string): Date {
  return DateTime.fromJSDate(start, { zone }).plus(duration).toJSDate();
}

/** The job that sends a scheduled notification when it is due (@cb/notifications send-scheduled.ts). */
export const SEND_SCHEDULED = "send-scheduled";

/**
 * A scheduled notification's job is added only once it is due within this long: until then it waits
 * in "Notification" alone. graphile-worker's fetch of due jobs scans past future jobs of the same
 * priority (its index is (priority, run_at)), so a million future jobs slowed every poll from
 * 0.03 ms to over 100 ms; the job table now holds only what is near.
 */
export const HAND_OVER_AHEAD_MS = 2 * 60_000;

/** The minutely job that hands the scheduled notifications due within HAND_OVER_AHEAD_MS over to graphile-worker. */
export const HAND_OVER_SCHEDULED = "hand-over-scheduled";
/** Its crontab line (graphile-worker's crontab queues one per minute across every worker). */
export const HAND_OVER_CRONTAB = `* * * * * ${HAND_OVER_SCHEDULED} ?jobKey=${HAND_OVER_SCHEDULED}&max=1`;

/**
 * The queue a scheduled notification's job runs in: a follow-up's is its conversation's, so that it
 * goes after a turn running for the same conversation (and after messages waiting there), never
 * between a turn's replies; the others run outside named queues.
 */
function queueOf(kind: string, conversationId: string | null | undefined): string | null {
  return kind === "followup" && conversationId ? `${CONVERSATION_QUEUE_PREFIX}${conversationId}` : null;
}

/** Adds a scheduled notification's send-scheduled job (keyed: adding it again changes nothing). */
async function enqueue(
  sql: Sql,
  row: { id: string; kind: string; conversationId?: string | null | undefined; jobKey: string; dueAt: Date },
): Promise<void> {
  const queueName = queueOf(row.kind, row.conversationId);
  await addJob(
    sql,
    SEND_SCHEDULED,
    { notificationId: row.id },
    { runAt: row.dueAt, jobKey: row.jobKey, maxAttempts: SEND_ATTEMPTS, ...(queueName ? { queueName } : {}) },
  );
}

/** Attempts at a scheduled notification's job; after the last it is failed with the error. */
export const SEND_ATTEMPTS = 10;

export type ScheduledKind = "rule" | "reminder" | "followup";

export interface ScheduleInput {
  tenantId: string;
  kind: ScheduledKind;
  dueAt: Date;
  orderEventId?: string;
  ruleId?: string;
  subject?: string;
  contactKey?: string;
  contactId?: string;
  conversationId?: string;
  content?: unknown;
  cancelIfCustomerWrites?: boolean;
  idempotencyKey?: string;
  /** Why it is due when it is (quiet hours moved it). */
  reason?: string;
}

// $16: handed over at once (its job added now) when due by then.
const INSERT = `INSERT INTO "Notification" (id, "tenantId", kind, status, "dueAt", "jobKey", "orderEventId", "ruleId",
  subject, "contactKey", "contactId", "conversationId", content, "cancelIfCustomerWrites", "idempotencyKey", reason, "updatedAt",
  "enqueuedAt")
VALUES ($1::uuid, $2::uuid, $3, 'scheduled', $4::timestamptz, $5, $6::uuid, $7::uuid, $8, $9, $10::uuid, $11::uuid, $12::jsonb,
  $13, $14, $15, now(), CASE WHEN $4::timestamptz <= $16::timestamptz THEN now() END)
ON CONFLICT DO NOTHING RETURNING id, "enqueuedAt" IS NOT NULL AS near`;

/**
 * A notification to send later: its row (status `scheduled`, with its due time), in the caller's
 * transaction, and its graphile-worker job, run at the due time and keyed so that cancelling or
 * replacing it is exact: added now when it is due within HAND_OVER_AHEAD_MS, else by the minutely
 * hand-over (handOverDue). Both survive restarts; one whose time passed while no worker ran runs as
 * soon as one does. The same rule and event, or the same idempotency key, schedule once: the
 * existing notification's id is returned with `created: false`.
 */
export async function scheduleNotification(
  sql: Sql,
  input: ScheduleInput,
  now: Date = new Date(),
): Promise<{ id: string; created: boolean }> {
  const id = randomUUID();
  // Its own key: cancelling or replacing it removes exactly its job, and a retry of another's is never touched.
  const jobKey = `scheduled:${id}`;
  const { rows } = await sql.query<{ id: string; near: boolean }>({
    text: INSERT,
    values: [
      id,
      input.tenantId,
      input.kind,
      input.dueAt,
      jobKey,
      input.orderEventId ?? null,
      input.ruleId ?? null,
      input.subject ?? null,
      input.contactKey ?? null,
      input.contactId ?? null,
      input.conversationId ?? null,
      input.content === undefined ? null : JSON.stringify(input.content),
      input.cancelIfCustomerWrites ?? false,
      input.idempotencyKey ?? null,
      input.reason ?? null,
      new Date(now.getTime() + HAND_OVER_AHEAD_MS),
    ],
  });
  if (!rows.length) {
    const { rows: existing } = await sql.query<{ id: string }>({
      text: `SELECT id FROM "Notification" WHERE ("tenantId" = $1::uuid AND "idempotencyKey" = $2)
             OR ("orderEventId" = $3::uuid AND "ruleId" = $4::uuid)`,
      values: [input.tenantId, input.idempotencyKey ?? null, input.orderEventId ?? null, input.ruleId ?? null],
    });
    return { id: existing[0]!.id, created: false };
  }
  if (rows[0]!.near)
    await enqueue(sql, { id, kind: input.kind, conversationId: input.conversationId, jobKey, dueAt: input.dueAt });
  return { id, created: true };
}

/**
 * Moves a scheduled notification's due time (quiet hours hold it), with the reason: its job is added
 * again for then when that is near, else it waits for the hand-over. Nothing when it is no longer
 * scheduled (cancelled meanwhile). Returns whether it was moved.
 */
export async function rescheduleNotification(
  sql: Sql,
  id: string,
  dueAt: Date,
  reason: string,
  now: Date = new Date(),
): Promise<boolean> {
  const near = dueAt.getTime() <= now.getTime() + HAND_OVER_AHEAD_MS;
  const { rows } = await sql.query<{ kind: string; conversationId: string | null; jobKey: string }>({
    text: `UPDATE "Notification" SET "dueAt" = $2, reason = $3, "enqueuedAt" = CASE WHEN $4 THEN now() END, "updatedAt" = now()
           WHERE id = $1::uuid AND status = 'scheduled' RETURNING kind, "conversationId", "jobKey"`,
    values: [id, dueAt, reason, near],
  });
  const row = rows[0];
  if (row && near) await enqueue(sql, { id, ...row, dueAt });
  return !!row;
}

// One batch of the hand-over: the scheduled notifications not yet handed over that are due by $1
// (through the partial index on dueAt), locked so that hand-overs running at once take different
// ones (SKIP LOCKED) and a cancel waits for the batch (then finds the job and removes it), marked
// handed over, and their keyed jobs added, in one statement.
const HAND_OVER = `
WITH due AS (
  SELECT id FROM "Notification" WHERE status = 'scheduled' AND "enqueuedAt" IS NULL AND "dueAt" <= $1::timestamptz
  ORDER BY "dueAt" LIMIT $2 FOR UPDATE SKIP LOCKED
), moved AS (
  UPDATE "Notification" n SET "enqueuedAt" = now() FROM due WHERE n.id = due.id
  RETURNING n.id, n.kind, n."conversationId", n."jobKey", n."dueAt"
)
SELECT count(*)::int AS moved FROM graphile_worker.add_jobs(ARRAY(
  SELECT ('${SEND_SCHEDULED}', json_build_object('notificationId', id),
    CASE WHEN kind = 'followup' AND "conversationId" IS NOT NULL THEN '${CONVERSATION_QUEUE_PREFIX}' || "conversationId" END,
    "dueAt", ${SEND_ATTEMPTS}, "jobKey", NULL, NULL)::graphile_worker.job_spec
  FROM moved ORDER BY "dueAt"))`;

export interface HandOverOptions {
  /** Rows a transaction (5,000). */
  batch?: number;
  /** Stop starting batches after this long (45 s; the next minute's run goes on). */
  budgetMs?: number;
}

/**
 * Hands the scheduled notifications due within HAND_OVER_AHEAD_MS of `now` over to graphile-worker,
 * a batch a transaction, until none is left or the time budget is spent. Safe to run twice or at
 * once on several workers: a notification is handed over once (marked in the same statement), and
 * its job is keyed. Returns how many were handed over.
 */
export async function handOverDue(pool: Pool, now: Date = new Date(), options: HandOverOptions = {}): Promise<number> {
  const batch = options.batch ?? 5_000;
  const until = Date.now() + (options.budgetMs ?? 45_000);
  const horizon = new Date(now.getTime() + HAND_OVER_AHEAD_MS);
  let total = 0;
  for (;;) {
    const { rows } = await pool.query<{ moved: number }>({
      name: "hand-over-scheduled",
      text: HAND_OVER,
      values: [horizon, batch],
    });
    const moved = rows[0]?.moved ?? 0;
    total += moved;
    if (moved < batch || Date.now() > until) return total;
  }
}

// What a cancelled notification's notification.cancelled event says (a rule's: its order event's id
// and the rule's name, as its notification.sent would).
const CANCELLED_ROW = `id, "tenantId", kind, reason,
  (SELECT e."eventId" FROM "OrderEvent" e WHERE e.id = "orderEventId") AS "eventId",
  (SELECT r.name FROM "NotificationRule" r WHERE r.id = "ruleId") AS rule`;

type CancelledRow = {
  id: string;
  tenantId: string;
  kind: string;
  reason: string;
  eventId: string | null;
  rule: string | null;
};

/** notification.cancelled events for the rows cancelled, in the caller's transaction. */
async function announceCancelled(sql: Sql, rows: CancelledRow[]): Promise<void> {
  for (const tenantId of new Set(rows.map((r) => r.tenantId)))
    await emitEvents(
      sql,
      tenantId,
      rows
        .filter((r) => r.tenantId === tenantId)
        .map((r) => ({
          type: "notification.cancelled" as const,
          data: {
            notificationId: r.id,
            kind: r.kind,
            ...(r.eventId ? { eventId: r.eventId } : {}),
            ...(r.rule ? { rule: r.rule } : {}),
            status: "cancelled",
            reason: r.reason,
          },
        })),
    );
}

/**
 * Cancels the scheduled notifications among `ids` (others are left as they are: sent, being sent,
 * cancelled) with the reason, removes their jobs and announces each as notification.cancelled.
 * Returns the ids cancelled. A job already running finds its notification no longer scheduled and
 * sends nothing.
 */
export async function cancelScheduled(sql: Sql, ids: string[], reason: string): Promise<string[]> {
  if (!ids.length) return [];
  const { rows } = await sql.query<CancelledRow & { jobKey: string | null }>({
    text: `UPDATE "Notification" SET status = 'cancelled', reason = $2, "updatedAt" = now()
           WHERE id = ANY($1::uuid[]) AND status = 'scheduled'
           RETURNING ${CANCELLED_ROW}, "jobKey"`,
    values: [ids, reason],
  });
  // One not yet handed over has no job yet: removing its key removes nothing.
  const keys = rows.flatMap((r) => (r.jobKey ? [r.jobKey] : []));
  if (keys.length)
    await sql.query({
      text: `SELECT graphile_worker.remove_job(k) FROM unnest($1::text[]) k`,
      values: [keys],
    });
  await announceCancelled(sql, rows);
  return rows.map((r) => r.id);
}

// A customer's message cancels its conversation's follow-ups marked so that were scheduled before it
// was stored (a follow-up scheduled by the turn answering this very message stays), and removes
// their jobs. Run only when the turn's message, as read (turn-store.ts), has some to cancel.
const CANCEL_ON_REPLY = `
WITH cancelled AS (
  UPDATE "Notification" SET status = 'cancelled', reason = 'the customer wrote before it was due', "updatedAt" = now()
  WHERE "conversationId" = $1::uuid AND status = 'scheduled' AND "cancelIfCustomerWrites"
    AND "createdAt" < (SELECT "createdAt" FROM "Message" WHERE id = $2::uuid)
  RETURNING ${CANCELLED_ROW}, "jobKey"
), removed AS (
  SELECT graphile_worker.remove_job("jobKey") FROM cancelled WHERE "jobKey" IS NOT NULL
)
SELECT id, "tenantId", kind, reason, "eventId", rule, (SELECT count(*) FROM removed) AS removed FROM cancelled`;

/**
 * Cancels the conversation's follow-ups that the customer's message (by id) cancels, announced as
 * notification.cancelled (a second statement only when there were some).
 */
export async function cancelFollowupsOnReply(pool: Pool, conversationId: string, messageId: string): Promise<void> {
  await transaction(pool, async (sql) => {
    const { rows } = await sql.query<CancelledRow>({
      name: "cancel-followups-on-reply",
      text: CANCEL_ON_REPLY,
      values: [conversationId, messageId],
    });
    await announceCancelled(sql, rows);
  });
}

/**
 * Schedules a fulfillment's follow-up (`payload.schedule`) into the conversation: due `after` from
 * now in the contact's time zone (else the tenant's), keyed by the message whose turn asked for it,
 * so it is scheduled once. Joins the caller's transaction (the turn's plan).
 */
export async function scheduleFollowup(
  sql: Sql,
  input: {
    tenant: { id: string; timezone: string };
    conversationId: string;
    channelAccountId: string;
    externalId: string;
    messageId: string;
    schedule: FollowupSchedule;
  },
): Promise<void> {
  const { schedule } = input;
  const { rows } = await sql.query<{ id: string; timezone: string | null }>({
    text: `SELECT k.id, k.timezone FROM "ContactIdentity" ci JOIN "Contact" k ON k.id = ci."contactId"
           WHERE ci."channelAccountId" = $1::uuid AND ci."externalId" = $2`,
    values: [input.channelAccountId, input.externalId],
  });
  const contact = rows[0];
  // The response schema admits only positive ISO 8601 durations.
  const after = parseDuration(schedule.after)!;
  await scheduleNotification(sql, {
    tenantId: input.tenant.id,
    kind: "followup",
    dueAt: addDuration(new Date(), after, contact?.timezone ?? input.tenant.timezone),
    conversationId: input.conversationId,
    ...(contact ? { contactId: contact.id } : {}),
    content:
      "event" in schedule ? { event: schedule.event, parameters: schedule.parameters ?? {} } : { text: schedule.text },
    cancelIfCustomerWrites: schedule.cancelIfCustomerWrites ?? false,
    idempotencyKey: `followup:${input.messageId}`,
  });
}
