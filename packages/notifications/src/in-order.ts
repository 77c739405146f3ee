import { transaction, type Pool } from "@cb/db";
import { emitEvents } from "@cb/event-webhooks";
import { addJob } from "@cb/jobs";
import { NOTIFY_EVENT, subjectQueue } from "./store.ts";

export interface InOrderOptions {
  /** Attempts per event; after the last its notifications are failed and the next event notified (10). */
  maxAttempts?: number;
  /** How long to wait before trying an event again after its nth failed attempt (1 s, doubling, at most 5 min). */
  retryDelayMs?: (failedAttempts: number) => number;
}

export interface InOrderResult {
  notified: string[];
  failed: { orderEventId: string; error: string }[];
  retrying?: { orderEventId: string; attempts: number; retryAt: Date; error: string };
}

const DEFAULTS = {
  maxAttempts: 10,
  retryDelayMs: (failed: number) => Math.min(1_000 * 2 ** (failed - 1), 5 * 60_000),
};

interface Waiting {
  id: string;
  tenantId: string;
  subject: string;
  attempts: number;
  error: string | null;
  waiting: boolean;
  [column: string]: unknown;
}

// The subject's earliest event still to notify, in the order events were stored.
const NEXT_WAITING = `
SELECT e.id, e."tenantId", e.subject, e.attempts, e.error, COALESCE(e."retryAt" > now(), false) AS waiting
FROM "OrderEvent" e JOIN "OrderEvent" own ON own.id = $1::uuid
WHERE e."tenantId" = own."tenantId" AND e.subject = own.subject AND e.current AND e."notifiedAt" IS NULL
ORDER BY e.position
LIMIT 1`;

/**
 * Notifies a subject's (an order's) events one at a time, in the order they were stored: the
 * notify-event job of any of them takes the earliest still waiting. A failed attempt is counted on
 * the event and tried again after a delay through a job scheduled for then, while the subject's
 * later events wait; after `maxAttempts` the event's unfinished notifications are failed (with
 * notification.failed events) and the next event is notified. An event held by quiet hours holds
 * the later ones too (they fall in the same quiet hours).
 */
export async function notifyInOrder(
  pool: Pool,
  orderEventId: string,
  notify: (orderEventId: string) => Promise<"done" | "deferred">,
  options: InOrderOptions = {},
): Promise<InOrderResult> {
  const { maxAttempts, retryDelayMs } = { ...DEFAULTS, ...options };
  const result: InOrderResult = { notified: [], failed: [] };
  for (;;) {
    const {
      rows: [next],
    } = await pool.query<Waiting>({ name: "notify-next-waiting", text: NEXT_WAITING, values: [orderEventId] });
    if (!next || next.waiting) return result;
    if (next.attempts >= maxAttempts) {
      const error = next.error ?? "its last attempt did not finish";
      await giveUp(pool, next, next.attempts, error);
      result.failed.push({ orderEventId: next.id, error });
      continue;
    }
    await pool.query(`UPDATE "OrderEvent" SET attempts = attempts + 1 WHERE id = $1::uuid`, [next.id]);
    const attempts = next.attempts + 1;
    try {
      if ((await notify(next.id)) === "deferred") {
        // Quiet hours are not a failure: the attempt is not counted.
        await pool.query(`UPDATE "OrderEvent" SET attempts = $2 WHERE id = $1::uuid`, [next.id, next.attempts]);
        return result;
      }
      await pool.query(`UPDATE "OrderEvent" SET "notifiedAt" = now(), "retryAt" = NULL WHERE id = $1::uuid`, [next.id]);
      result.notified.push(next.id);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      if (attempts >= maxAttempts) {
        await giveUp(pool, next, attempts, error);
        result.failed.push({ orderEventId: next.id, error });
        continue;
      }
      const retryAt = new Date(Date.now() + retryDelayMs(attempts));
      await transaction(pool, async (sql) => {
        await sql.query({
          text: `UPDATE "OrderEvent" SET "retryAt" = $2, error = $3 WHERE id = $1::uuid`,
          values: [next.id, retryAt, error],
        });
        await addJob(
          sql,
          NOTIFY_EVENT,
          { orderEventId: next.id },
          {
            queueName: subjectQueue(next.tenantId, next.subject),
            runAt: retryAt,
            jobKey: `notify-retry:${next.tenantId}:${next.subject}`,
          },
        );
      });
      result.retrying = { orderEventId: next.id, attempts, retryAt, error };
      return result;
    }
  }
}

/** The event is done: its unfinished notifications failed with the reason, and announced, in one transaction. */
async function giveUp(pool: Pool, event: Waiting, attempts: number, error: string): Promise<void> {
  await transaction(pool, async (sql) => {
    const reason = `gave up after ${attempts} attempt(s): ${error}`;
    const { rows } = await sql.query<{ id: string; rule: string; eventId: string }>(
      `UPDATE "Notification" n SET status = 'failed', reason = $2, "updatedAt" = now()
       FROM "NotificationRule" r, "OrderEvent" e
       WHERE n."orderEventId" = $1::uuid AND r.id = n."ruleId" AND e.id = n."orderEventId" AND n.status IN ('queued', 'deferred')
       RETURNING n.id, r.name AS rule, e."eventId"`,
      [event.id, reason],
    );
    await sql.query(`UPDATE "OrderEvent" SET "notifiedAt" = now(), "retryAt" = NULL, error = $2 WHERE id = $1::uuid`, [
      event.id,
      error,
    ]);
    await emitEvents(
      sql,
      event.tenantId,
      rows.map((n) => ({
        type: "notification.failed" as const,
        data: { notificationId: n.id, eventId: n.eventId, rule: n.rule, status: "failed", reason },
      })),
    );
  });
}
