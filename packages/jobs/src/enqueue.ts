import type { Prisma } from "@cb/db";

/** Anything that runs raw SQL: the Prisma client or an interactive transaction of it. */
export type SqlRunner = Pick<Prisma.TransactionClient, "$executeRaw">;

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
export async function addJob(sql: SqlRunner, identifier: string, payload: unknown, options: JobOptions = {}): Promise<void> {
  await sql.$executeRaw`SELECT graphile_worker.add_job(
    identifier => ${identifier}::text,
    payload => ${JSON.stringify(payload)}::json,
    queue_name => ${options.queueName ?? null}::text,
    run_at => ${options.runAt ?? null}::timestamptz,
    max_attempts => ${options.maxAttempts ?? null}::int,
    job_key => ${options.jobKey ?? null}::text,
    priority => ${options.priority ?? null}::int,
    job_key_mode => ${options.jobKeyMode ?? "replace"}::text
  )`;
}
