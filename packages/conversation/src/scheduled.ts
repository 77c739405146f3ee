import { randomUUID } from "node:crypto";
import type { Pool, Sql } from "@cb/db";
import type { FollowupSchedule } from "@cb/fulfillment";
import { addJob } from "@cb/jobs";
import { DateTime, Duration } from "luxon";

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

export type ScheduledKind = "rule" | "reminder" | "followup";

export interface ScheduleInput {
  tenantId: string;
  kind: ScheduledKind;
  dueAt: Date;
  /** Shared by the notifications one replaces (a debounced rule's subject); else the notification's own. */
  jobKey?: string;
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

const INSERT = `INSERT INTO "Notification" (id, "tenantId", kind, status, "dueAt", "jobKey", "orderEventId", "ruleId",
  subject, "contactKey", "contactId", "conversationId", content, "cancelIfCustomerWrites", "idempotencyKey", reason, "updatedAt")
VALUES ($1::uuid, $2::uuid, $3, 'scheduled', $4::timestamptz, $5, $6::uuid, $7::uuid, $8, $9, $10::uuid, $11::uuid, $12::jsonb,
  $13, $14, $15, now())
ON CONFLICT DO NOTHING RETURNING id`;

/**
 * A notification to send later: its row (status `scheduled`, with its due time) and its
 * graphile-worker job, run at the due time and keyed so that cancelling or replacing it is exact, in
 * the caller's transaction. A job survives restarts; one whose time passed while no worker ran runs
 * as soon as one does. The same rule and event, or the same idempotency key, schedule once: the
 * existing notification's id is returned with `created: false`.
 */
export async function scheduleNotification(sql: Sql, input: ScheduleInput): Promise<{ id: string; created: boolean }> {
  const id = randomUUID();
  const jobKey = input.jobKey ?? `scheduled:${id}`;
  const { rows } = await sql.query<{ id: string }>({
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
  await addJob(sql, SEND_SCHEDULED, { notificationId: id }, { runAt: input.dueAt, jobKey, maxAttempts: 10 });
  return { id, created: true };
}

/**
 * Cancels the scheduled notifications among `ids` (others are left as they are: sent, being sent,
 * cancelled) with the reason, and removes their jobs. Returns the ids cancelled. A job already
 * running finds its notification no longer scheduled and sends nothing.
 */
export async function cancelScheduled(sql: Sql, ids: string[], reason: string): Promise<string[]> {
  if (!ids.length) return [];
  const { rows } = await sql.query<{ id: string; jobKey: string | null }>({
    text: `UPDATE "Notification" SET status = 'cancelled', reason = $2, "updatedAt" = now()
           WHERE id = ANY($1::uuid[]) AND status = 'scheduled' RETURNING id, "jobKey"`,
    values: [ids, reason],
  });
  const keys = rows.flatMap((r) => (r.jobKey ? [r.jobKey] : []));
  if (keys.length)
    await sql.query({
      text: `SELECT graphile_worker.remove_job(k) FROM unnest($1::text[]) k`,
      values: [keys],
    });
  return rows.map((r) => r.id);
}

// A customer's message cancels its conversation's follow-ups marked so that were scheduled before it
// was stored (a follow-up scheduled by the turn answering this very message stays), and removes
// their jobs: one indexed statement a turn.
const CANCEL_ON_REPLY = `
WITH cancelled AS (
  UPDATE "Notification" SET status = 'cancelled', reason = 'the customer wrote before it was due', "updatedAt" = now()
  WHERE "conversationId" = $1::uuid AND status = 'scheduled' AND "cancelIfCustomerWrites"
    AND "createdAt" < (SELECT "createdAt" FROM "Message" WHERE id = $2::uuid)
  RETURNING "jobKey"
)
SELECT graphile_worker.remove_job("jobKey") FROM cancelled WHERE "jobKey" IS NOT NULL`;

/** Cancels the conversation's follow-ups that the customer's message (by id) cancels. */
export async function cancelFollowupsOnReply(pool: Pool, conversationId: string, messageId: string): Promise<void> {
  await pool.query({ name: "cancel-followups-on-reply", text: CANCEL_ON_REPLY, values: [conversationId, messageId] });
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
