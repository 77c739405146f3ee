import type { Pool } from "@cb/db";
import { NOTIFY_EVENT } from "../src/store.ts";

export interface NotifyJob {
  queue_name: string | null;
  key: string | null;
  run_at: Date;
  max_attempts: number;
  attempts: number;
  last_error: string | null;
}

/** The notify-event jobs waiting for one stored order event (by OrderEvent id). */
export async function notifyJobs(pool: Pool, orderEventId: string): Promise<NotifyJob[]> {
  const { rows } = await pool.query<NotifyJob>(
    `SELECT v.queue_name, v.key, v.run_at, v.max_attempts, v.attempts, v.last_error
     FROM graphile_worker.jobs v JOIN graphile_worker._private_jobs p USING (id)
     WHERE v.task_identifier = $1 AND p.payload->>'orderEventId' = $2 ORDER BY v.id`,
    [NOTIFY_EVENT, orderEventId],
  );
  return rows;
}
