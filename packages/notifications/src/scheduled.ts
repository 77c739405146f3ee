import { randomUUID } from "node:crypto";
import type { Sql } from "@cb/db";
import { addJob } from "@cb/jobs";

/** The job that sends a scheduled notification when it is due (send-scheduled.ts). */
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
