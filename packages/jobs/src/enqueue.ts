import type { Sql } from "@cb/db";
import { QUEUE_GATE_SHARED } from "./queues.ts";

export interface JobOptions {
  /** Jobs sharing a queue run one at a time, in order (we use one queue per conversation). */
  queueName?: string;
  runAt?: Date;
  maxAttempts?: number;
  /** At most one pending job per key; see graphile-worker's job_key_mode. */
  jobKey?: string;
  jobKeyMode?: "replace" | "preserve_run_at" | "unsafe_dedupe";
  priority?: number;
}

/**
 * Enqueues a graphile-worker job through SQL, so it commits or rolls back with whatever else
 * the caller's transaction writes (a stored message and its processing job are never apart).
 */
export async function addJob(sql: Sql, identifier: string, payload: unknown, options: JobOptions = {}): Promise<void> {
  // The gate (queues.ts) is taken first: a materialized CTE is scanned before the row it feeds.
  await sql.query({
    name: "add-job",
    text: `WITH gate AS MATERIALIZED (SELECT ${QUEUE_GATE_SHARED}) SELECT (graphile_worker.add_job(
      identifier => $1::text, payload => $2::json, queue_name => $3::text, run_at => $4::timestamptz,
      max_attempts => $5::int, job_key => $6::text, priority => $7::int, job_key_mode => $8::text
    )).id FROM gate`,
    values: [
      identifier,
      JSON.stringify(payload),
      options.queueName ?? null,
      options.runAt ?? null,
      options.maxAttempts ?? null,
      options.jobKey ?? null,
      options.priority ?? null,
      options.jobKeyMode ?? "replace",
    ],
  });
}
