import { prismaSql, transaction, type Db, type Pool, type Sql } from "@cb/db";
import { defaultLogger, type Logger } from "@cb/logging";
import { enqueueEvaluation } from "./evaluation.ts";
import type { Trainer } from "./trainer.ts";
import { readTrainingData } from "./training-data.ts";

/** The graphile-worker task that trains a tenant's model (enqueued by a trigger on `Tenant`, see its migration). */
export const TRAIN_NLU_MODEL = "nlu-train";
/** Each tenant's training jobs run in a queue of their own, one at a time across the deployment. */
export const TRAINING_QUEUE_PREFIX = "nlu-train:";

// Straight to pg: the weights go as base64 text, decoded by the database (stored-model.ts).
const STORE_MODEL = `INSERT INTO "NluModel" (id, "tenantId", version, fingerprint, definition, weights)
  SELECT gen_random_uuid(), $1::uuid, coalesce(max(version), 0) + 1, $2, $3::jsonb, decode($4, 'base64')
  FROM "NluModel" WHERE "tenantId" = $1::uuid
  RETURNING version`;

/** The graphile-worker task that finds tenants whose current version has no model and no training job. */
export const TRAINING_SWEEP = "nlu-train-sweep";
/** Every five minutes, one run at a time across the deployment (graphile-worker's crontab). */
export const TRAINING_SWEEP_CRONTAB = `*/5 * * * * ${TRAINING_SWEEP} ?jobKey=${TRAINING_SWEEP}&max=1`;

// Tenants the trigger never asked for (their data predates it) or whose job was lost: a training job
// each, as the trigger adds it. unsafe_dedupe leaves a job already there alone, even one that failed
// for good (its failure is what GET /v1/nlu/status shows), so the sweep never revives it in a loop.
const SWEEP = `
SELECT count(graphile_worker.add_job(
  identifier => '${TRAIN_NLU_MODEL}',
  payload => json_build_object('tenantId', t.id),
  queue_name => '${TRAINING_QUEUE_PREFIX}' || t.id,
  job_key => '${TRAINING_QUEUE_PREFIX}' || t.id,
  job_key_mode => 'unsafe_dedupe',
  max_attempts => 10
))::int AS enqueued
FROM "Tenant" t
WHERE NOT EXISTS (
  SELECT 1 FROM "NluModel" m WHERE m."tenantId" = t.id AND m.fingerprint = t."trainingRevision"::text || ':' || t.language
)`;

/** Enqueues a training job for each tenant whose current version has no stored model; how many it asked for. */
export async function sweepUntrained(pool: Pool): Promise<number> {
  // The enqueue side of the queue-collection gate (packages/jobs/src/queues.ts), as the trigger takes it.
  return transaction(pool, async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock_shared(hashtext('graphile-worker:queues'))`);
    return (await tx.query<{ enqueued: number }>(SWEEP)).rows[0]!.enqueued;
  });
}

export type TrainingOutcome = "trained" | "current" | "gone";

/**
 * One training job: the tenant's current data, trained in a thread and stored as its next version.
 * Idempotent: a version already stored (a retried job, a job queued twice) is not trained again.
 * Workers serving the tenant switch to the stored model on their next turn (store.ts).
 */
export async function trainTenantModel(
  db: Db,
  tenantId: string,
  options: { trainer: Trainer; signal?: AbortSignal; logger?: Logger; pool?: Pool },
): Promise<TrainingOutcome> {
  const logger = options.logger ?? defaultLogger();
  const sql: Sql = options.pool ?? prismaSql(db);
  const read = await readTrainingData(db, tenantId);
  if (!read) return "gone";
  const { fingerprint, data } = read;
  if (await db.nluModel.findFirst({ where: { tenantId, fingerprint }, select: { id: true } })) return "current";
  const started = performance.now();
  const { definition, weights } = await options.trainer.train(data, options.signal);
  const ms = Math.round(performance.now() - started);
  // The tenant's queue keeps its jobs apart; a version taken by any other writer fails the job, and
  // its retry finds the fingerprint stored or takes the next version.
  const { version } = (
    await sql.query<{ version: number }>({
      name: "nlu-store-model",
      text: STORE_MODEL,
      values: [tenantId, fingerprint, definition, weights],
    })
  ).rows[0]!;
  logger.info({ tenantId, fingerprint, version, intents: data.intents.length, ms }, "NLU model trained");
  // The model report follows each trained version, ready before anyone asks (GET /v1/nlu/evaluation).
  await enqueueEvaluation(sql, tenantId, fingerprint);
  return "trained";
}
