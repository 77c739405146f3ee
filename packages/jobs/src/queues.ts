import { transaction, type Pool } from "@cb/db";
import { defaultLogger, type Logger } from "@cb/logging";
import { every } from "./every.ts";

// graphile-worker keeps a row per named queue, and every job fetch locks all the available ones
// (its "strategy 2"), so a fetch costs in proportion to the queues that exist: with a queue per
// conversation, per conversation ever seen (3.5 ms a fetch after three thousand). Its own cleanup
// races with enqueueing: a queue deleted between add_job finding it and inserting the job leaves
// that job in a queue no worker will ever fetch. So enqueueing into a named queue holds this lock
// shared, and collection holds it exclusively: a queue is only deleted while no enqueue is under way.
const GATE = "hashtext('graphile-worker:queues')";

/** SQL that takes the enqueue side of the gate; it must run before add_job(s) in the same transaction. */
export const QUEUE_GATE_SHARED = `pg_advisory_xact_lock_shared(${GATE})`;

/**
 * Deletes the empty, unlocked queues whose names start with one of `prefixes` (the per-entity ones:
 * a conversation's, an order's), and returns how many. Queues that graphile-worker's crontab fills
 * do not pass the gate, so they are never collected.
 */
export async function collectEmptyQueues(pool: Pool, prefixes: string[]): Promise<number> {
  return transaction(pool, async (sql) => {
    await sql.query(`SELECT pg_advisory_xact_lock(${GATE})`);
    // A new statement, so a new snapshot: every job enqueued before the lock was granted is seen.
    const { rowCount } = await sql.query(
      `DELETE FROM graphile_worker._private_job_queues q
       WHERE q.locked_at IS NULL AND EXISTS (SELECT 1 FROM unnest($1::text[]) p WHERE starts_with(q.queue_name, p))
         AND NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs j WHERE j.job_queue_id = q.id)`,
      [prefixes],
    );
    return rowCount ?? 0;
  });
}

/** Collects empty queues every `intervalMs` (1 s: at 200 new conversations a second, 200 rows at most). */
export function keepQueuesCollected(options: {
  pool: Pool;
  prefixes: string[];
  intervalMs?: number;
  onError?: (err: unknown) => void;
  logger?: Logger;
}): { stop(): Promise<void> } {
  const logger = options.logger ?? defaultLogger();
  const onError = options.onError ?? ((err: unknown) => logger.error({ err }, "job queue collection failed"));
  return every(options.intervalMs ?? 1_000, () => collectEmptyQueues(options.pool, options.prefixes), onError);
}
