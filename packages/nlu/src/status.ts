import type { Sql } from "@cb/db";
import { fingerprintOf } from "./training-data.ts";
import { TRAINING_QUEUE_PREFIX } from "./training.ts";

/** Where a tenant's NLU model stands: the model in use, and its training job when one is queued, running or failed. */
export interface TrainingStatus {
  /** The training version of the tenant's data now. */
  revision: string;
  language: string;
  /** The newest stored model; `current` when it was trained from the data as it is now. */
  model: { version: number; trainedAt: Date; current: boolean } | null;
  /**
   * The tenant's training job, from graphile-worker's table: `queued`, `running`, `retrying` after a
   * failure (`lastError`, next attempt at `runAt`), or `failed` for good after its last attempt.
   */
  training: {
    state: "queued" | "running" | "retrying" | "failed";
    attempts: number;
    maxAttempts: number;
    lastError: string | null;
    runAt: Date;
  } | null;
}

const STATUS = `SELECT t."trainingRevision"::text AS revision, t.language,
    m.version, m.fingerprint, m."trainedAt",
    j.attempts, j.max_attempts AS "maxAttempts", j.last_error AS "lastError", j.run_at AS "runAt", j.locked_at IS NOT NULL AS running
  FROM "Tenant" t
  LEFT JOIN LATERAL (SELECT version, fingerprint, "trainedAt" FROM "NluModel" WHERE "tenantId" = t.id
    ORDER BY version DESC LIMIT 1) m ON true
  LEFT JOIN LATERAL (SELECT attempts, max_attempts, last_error, run_at, locked_at FROM graphile_worker.jobs
    WHERE queue_name = $2 ORDER BY id DESC LIMIT 1) j ON true
  WHERE t.id = $1::uuid`;

interface Row {
  revision: string;
  language: string;
  version: number | null;
  fingerprint: string | null;
  trainedAt: Date | null;
  attempts: number | null;
  maxAttempts: number | null;
  lastError: string | null;
  runAt: Date | null;
  running: boolean | null;
}

/** The tenant's training status; null when there is no such tenant. */
export async function trainingStatus(sql: Sql, tenantId: string): Promise<TrainingStatus | null> {
  const row = (
    await sql.query<Row & Record<string, unknown>>({
      name: "nlu-training-status",
      text: STATUS,
      values: [tenantId, TRAINING_QUEUE_PREFIX + tenantId],
    })
  ).rows[0];
  if (!row) return null;
  const state = (attempts: number, maxAttempts: number, running: boolean) =>
    running ? "running" : attempts >= maxAttempts ? "failed" : attempts > 0 ? "retrying" : "queued";
  return {
    revision: row.revision,
    language: row.language,
    model:
      row.version === null
        ? null
        : {
            version: row.version,
            trainedAt: row.trainedAt!,
            current: row.fingerprint === fingerprintOf({ revision: row.revision, language: row.language }),
          },
    training:
      row.attempts === null
        ? null
        : {
            state: state(row.attempts, row.maxAttempts!, row.running!),
            attempts: row.attempts,
            maxAttempts: row.maxAttempts!,
            lastError: row.lastError,
            runAt: row.runAt!,
          },
  };
}
