// What the chaos benchmark reads from the system's database: whether any job is left to run (the
// drain ends when none is), and, after the drain, where the unanswered work stands.
import type pg from "pg";

/** Whether no job is left to run: one that used up its attempts stays behind and does not count. */
export function jobsIdle(pool: pg.Pool): Promise<boolean> {
  return pool
    .query<{ n: number }>(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE attempts < max_attempts`)
    .then(
      ({ rows }) => rows[0]!.n === 0,
      () => false, // the database is restarting: not idle
    );
}

/** Counts that say where lost or late messages stopped. */
export async function stateAfter(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<Record<string, number>>(`SELECT
    (SELECT count(*)::int FROM "Message" WHERE direction = 'in') AS "inboundStored",
    (SELECT count(*)::int FROM "Message" WHERE direction = 'in' AND status <> 'processed') AS "inboundUnprocessed",
    (SELECT count(*)::int FROM "Message" WHERE direction = 'out' AND status = 'pending') AS "outboundPending",
    (SELECT count(*)::int FROM "Message" WHERE direction = 'out' AND status = 'failed') AS "outboundFailed",
    (SELECT count(*)::int FROM "InboundBatch") AS "inboxRows",
    (SELECT count(*)::int FROM graphile_worker.jobs WHERE attempts < max_attempts) AS "jobsWaiting",
    (SELECT count(*)::int FROM graphile_worker.jobs WHERE locked_at IS NOT NULL) AS "jobsLocked",
    (SELECT count(*)::int FROM graphile_worker.jobs WHERE attempts >= max_attempts) AS "jobsFailed"`);
  return rows[0]!;
}
