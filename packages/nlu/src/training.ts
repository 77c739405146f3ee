import type { Db } from "@cb/db";
import { defaultLogger, type Logger } from "@cb/logging";
import type { Trainer } from "./trainer.ts";
import { readTrainingData } from "./training-data.ts";

/** The graphile-worker task that trains a tenant's model (enqueued by a trigger on `Tenant`, see its migration). */
export const TRAIN_NLU_MODEL = "nlu-train";
/** Each tenant's training jobs run in a queue of their own, one at a time across the deployment. */
export const TRAINING_QUEUE_PREFIX = "nlu-train:";

export type TrainingOutcome = "trained" | "current" | "gone";

/**
 * One training job: the tenant's current data, trained in a thread and stored as its next version.
 * Idempotent: a version already stored (a retried job, a job queued twice) is not trained again.
 * Workers serving the tenant switch to the stored model on their next turn (store.ts).
 */
export async function trainTenantModel(
  db: Db,
  tenantId: string,
  options: { trainer: Trainer; signal?: AbortSignal; logger?: Logger },
): Promise<TrainingOutcome> {
  const logger = options.logger ?? defaultLogger();
  const read = await readTrainingData(db, tenantId);
  if (!read) return "gone";
  const { fingerprint, data } = read;
  if (await db.nluModel.findFirst({ where: { tenantId, fingerprint }, select: { id: true } })) return "current";
  const started = performance.now();
  const { definition, weights } = await options.trainer.train(data, options.signal);
  const ms = Math.round(performance.now() - started);
  const latest = await db.nluModel.findFirst({
    where: { tenantId },
    orderBy: { version: "desc" },
    select: { version: true },
  });
  const version = (latest?.version ?? 0) + 1;
  // The tenant's queue keeps its jobs apart; a version taken by any other writer fails the job, and
  // its retry finds the fingerprint stored or takes the next version.
  await db.nluModel.create({
    data: { tenantId, version, fingerprint, definition: definition as object, weights: new Uint8Array(weights) },
  });
  logger.info({ tenantId, fingerprint, version, intents: data.intents.length, ms }, "NLU model trained");
  return "trained";
}
