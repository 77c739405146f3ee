import { prismaSql, transaction, type Db, type Pool, type Sql } from "@cb/db";
import { addJob } from "@cb/jobs";
import { defaultLogger, type Logger } from "@cb/logging";
import { enqueueEvaluation } from "./evaluation.ts";
import { sentenceEncoderPlan } from "./model.ts";
import type { SentenceEncoder } from "./sentence-encoder.ts";
import { sentenceVectorsFor } from "./sentence-vectors.ts";
import type { Trainer } from "./trainer.ts";
import { readTrainingData } from "./training-data.ts";

/** The graphile-worker task that trains a tenant's model (enqueued by a trigger on `Tenant`, see its migration). */
export const TRAIN_NLU_MODEL = "nlu-train";
/** Each tenant's training jobs run in a queue of their own, one at a time across the deployment. */
export const TRAINING_QUEUE_PREFIX = "nlu-train:";

// Straight to pg: the weights go as base64 text, decoded by the database (stored-model.ts). In the
// same statement, the tenant's older models go: only the newest one serves while a newer version
// trains (store.ts) and is what GET /v1/nlu/status reports, so one model a tenant at rest, two while
// its job stores the next; the model of the tenant's current version stays too, in case one trained
// from since-moved data was stored after it. A model is megabytes; kept, they would pile up with
// every change. Bounded: a handful of rows, found by the (tenantId, version) index.
const STORE_MODEL = `WITH stored AS (
    INSERT INTO "NluModel" (id, "tenantId", version, fingerprint, definition, weights)
    SELECT gen_random_uuid(), $1::uuid, coalesce(max(version), 0) + 1, $2, $3::jsonb, decode($4, 'base64')
    FROM "NluModel" WHERE "tenantId" = $1::uuid
    RETURNING version
  ), pruned AS (
    DELETE FROM "NluModel" m USING stored, "Tenant" t
    WHERE m."tenantId" = $1::uuid AND m.version < stored.version AND t.id = m."tenantId"
      AND m.fingerprint <> t."trainingRevision"::text || ':' || t.language
    RETURNING m.version
  )
  SELECT version, (SELECT count(*) FROM pruned)::int AS pruned FROM stored`;

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

// Models stored before storing pruned the older ones (above): a batch at each sweep, so a deployment
// that kept every version sheds them within a few sweeps, each a bounded statement.
const PRUNE = `WITH pruned AS (
    DELETE FROM "NluModel" WHERE id IN (
      SELECT m.id FROM "NluModel" m JOIN "Tenant" t ON t.id = m."tenantId"
      WHERE m.fingerprint <> t."trainingRevision"::text || ':' || t.language
        AND EXISTS (SELECT 1 FROM "NluModel" n WHERE n."tenantId" = m."tenantId" AND n.version > m.version)
      LIMIT $1)
    RETURNING 1
  )
  SELECT count(*)::int AS pruned FROM pruned`;

/** Deletes up to `limit` models no longer needed (older than the tenant's newest, not of its current version); how many. */
export async function pruneModels(sql: Sql, limit = 100): Promise<number> {
  return (await sql.query<{ pruned: number }>({ name: "nlu-prune-models", text: PRUNE, values: [limit] })).rows[0]!
    .pruned;
}

export type TrainingOutcome = "trained" | "current" | "gone" | "busy";

/** How long a training job refused by a busy trainer waits before it comes back: this, plus up to as much again. */
export const BUSY_RETRY_MS = 5_000;

/**
 * A training job the trainer had no thread for (`busy`) comes back later as a new job: one with no
 * attempt spent, which then counts its time limit afresh, and which any worker may take meanwhile.
 * The job key is the trigger's: the running job gives its key up to it (graphile-worker), and a job
 * the trigger queued meanwhile is kept at its own, earlier, time.
 */
export async function trainLater(sql: Sql, tenantId: string, afterMs = BUSY_RETRY_MS): Promise<void> {
  // Spread out, so a batch refused together does not come back together.
  const runAt = new Date(Date.now() + afterMs + Math.random() * afterMs);
  await addJob(
    sql,
    TRAIN_NLU_MODEL,
    { tenantId },
    {
      queueName: TRAINING_QUEUE_PREFIX + tenantId,
      jobKey: TRAINING_QUEUE_PREFIX + tenantId,
      jobKeyMode: "preserve_run_at",
      runAt,
      maxAttempts: 10,
    },
  );
}

/**
 * One training job: the tenant's current data, trained in a thread and stored as its next version.
 * Idempotent: a version already stored (a retried job, a job queued twice) is not trained again.
 * `busy` when the trainer's threads are all taken: nothing trained, the caller asks again later (trainLater).
 * Workers serving the tenant switch to the stored model on their next turn (store.ts).
 */
export async function trainTenantModel(
  db: Db,
  tenantId: string,
  options: {
    trainer: Trainer;
    signal?: AbortSignal;
    logger?: Logger;
    pool?: Pool;
    /** The process's sentence encoder; absent (NLU_SENTENCE_ENCODER=off), models are trained without it. */
    encoder?: SentenceEncoder;
  },
): Promise<TrainingOutcome> {
  const logger = options.logger ?? defaultLogger();
  const sql: Sql = options.pool ?? prismaSql(db);
  const read = await readTrainingData(db, tenantId);
  if (!read) return "gone";
  const { fingerprint, data } = read;
  if (await db.nluModel.findFirst({ where: { tenantId, fingerprint }, select: { id: true } })) return "current";
  const started = performance.now();
  // The training thread starts at once, and the encoder's vectors (cached per tenant; only texts not
  // seen before are embedded) are embedded meanwhile, on the encoder's thread: the two take a core
  // each. The n-gram model trains meanwhile, the encoder head once the vectors reach the trainer
  // (trainer.ts). Both within the job's time limit; a busy trainer refuses before anything is embedded.
  const plan = options.encoder ? sentenceEncoderPlan(data.intents, data.language) : null;
  const vectors = plan ? Promise.withResolvers<ReadonlyMap<string, Float32Array>>() : null;
  // Their failure is the job's (thrown below), not the promise's: a trainer that ended first no longer listens.
  vectors?.promise.catch(() => {});
  const training = options.trainer.train(data, options.signal, vectors ? { sentenceVectors: vectors.promise } : {});
  if (!training) return "busy";
  let encoding: Record<string, number> | undefined;
  if (plan && vectors && options.encoder) {
    // A training that fails (its thread) ends the embedding too; what was embedded by then stays cached.
    const failed = new AbortController();
    training.catch((err: unknown) => failed.abort(err));
    const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
    try {
      const got = await sentenceVectorsFor(sql, tenantId, plan.texts, options.encoder, signal);
      vectors.resolve(got.vectors);
      const { vectors: _, ...counts } = got;
      encoding = { ...counts, ms: Math.round(performance.now() - started) };
    } catch (err) {
      // The thread is ended (its slot given back) before the job fails.
      vectors.reject(err);
      await training.catch(() => {});
      throw err;
    }
  }
  const { definition, weights } = await training;
  const ms = Math.round(performance.now() - started);
  // The tenant's queue keeps its jobs apart; a version taken by any other writer fails the job, and
  // its retry finds the fingerprint stored or takes the next version.
  const { version, pruned } = (
    await sql.query<{ version: number; pruned: number }>({
      name: "nlu-store-model",
      text: STORE_MODEL,
      values: [tenantId, fingerprint, definition, weights],
    })
  ).rows[0]!;
  logger.info(
    { tenantId, fingerprint, version, pruned, intents: data.intents.length, ms, ...(encoding ? { encoding } : {}) },
    "NLU model trained",
  );
  // The model report follows each trained version, ready before anyone asks (GET /v1/nlu/evaluation).
  await enqueueEvaluation(sql, tenantId, fingerprint);
  return "trained";
}
