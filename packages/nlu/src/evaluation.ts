import { Worker } from "node:worker_threads";
import { prismaSql, type Db, type Pool, type Sql } from "@cb/db";
import { addJob } from "@cb/jobs";
import type { EvaluationReport } from "./evaluate.ts";
import { sentenceEncoderPlan } from "./model.ts";
import type { SentenceEncoder } from "./sentence-encoder.ts";
import { sentenceVectorsFor } from "./sentence-vectors.ts";
import { readTrainingData, type TrainingData } from "./training-data.ts";

/** The graphile-worker task that computes a tenant's model report. */
export const NLU_EVALUATE = "nlu-evaluate";
/** One evaluation at a time across the deployment: each trains several models in a thread of its own. */
const QUEUE = "nlu-evaluate";
/** Longer than this and the report is stored as failed (computing it again would take as long). */
export const EVALUATION_TIME_LIMIT_MS = 240_000;

export interface TrainingVersionOf {
  revision: bigint;
  language: string;
  /** As NluModel's: what a report (and a model) is keyed by. */
  fingerprint: string;
}

export async function currentVersion(db: Db, tenantId: string): Promise<TrainingVersionOf> {
  const { trainingRevision, language } = await db.tenant.findUniqueOrThrow({
    where: { id: tenantId },
    select: { trainingRevision: true, language: true },
  });
  return { revision: trainingRevision, language, fingerprint: `${trainingRevision}:${language}` };
}

/**
 * Asks for the report of a training version: one job per tenant and version, however often it is
 * asked for, pending or running (graphile-worker's unsafe_dedupe).
 */
export async function enqueueEvaluation(sql: Sql, tenantId: string, fingerprint: string): Promise<void> {
  await addJob(
    sql,
    NLU_EVALUATE,
    { tenantId },
    {
      queueName: QUEUE,
      jobKey: `${NLU_EVALUATE}:${tenantId}:${fingerprint}`,
      jobKeyMode: "unsafe_dedupe",
      maxAttempts: 3,
    },
  );
}

/** Runs the cross-validation in a worker thread; the signal ends the thread. */
function inThread(
  data: TrainingData,
  signal: AbortSignal,
  sentenceVectors?: ReadonlyMap<string, Float32Array>,
): Promise<EvaluationReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./evaluate-thread.ts", import.meta.url), {
      workerData: { ...data, ...(sentenceVectors ? { sentenceVectors } : {}) },
    });
    const abort = () => {
      void worker.terminate();
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    worker.once("message", (report: EvaluationReport) => {
      signal.removeEventListener("abort", abort);
      void worker.terminate();
      resolve(report);
    });
    worker.once("error", (err) => {
      signal.removeEventListener("abort", abort);
      reject(err);
    });
  });
}

/**
 * Computes and stores the tenant's model report for its current training version, unless stored
 * already (idempotent: a retried or repeated job stores nothing twice). A report that fails (the
 * time limit, a training error) is stored as failed: the same data would fail again. When the
 * training data changes while it is computed, nothing is stored (the new version gets its own job).
 */
export async function evaluateTenant(
  db: Db,
  tenantId: string,
  options: {
    signal?: AbortSignal;
    timeLimitMs?: number;
    /** The process's sentence encoder: a model that learns from it is judged with the tenant's cached vectors. */
    encoder?: SentenceEncoder;
    pool?: Pool;
  } = {},
): Promise<"stored" | "already stored" | "outdated" | "no tenant"> {
  // A tenant deleted since the job was asked for: nothing to evaluate, nothing to retry.
  if (!(await db.tenant.findUnique({ where: { id: tenantId }, select: { id: true } }))) return "no tenant";
  const version = await currentVersion(db, tenantId);
  const where = { tenantId_fingerprint: { tenantId, fingerprint: version.fingerprint } };
  if (await db.nluEvaluation.findUnique({ where, select: { id: true } })) return "already stored";
  // Read in one snapshot with its own fingerprint: a change committed since belongs to the next version's job.
  const read = await readTrainingData(db, tenantId);
  if (!read) return "no tenant";
  if (read.fingerprint !== version.fingerprint) return "outdated";
  const data = read.data;
  const limit = options.timeLimitMs ?? EVALUATION_TIME_LIMIT_MS;
  const timeout = AbortSignal.timeout(limit);
  const started = performance.now();
  let outcome: { status: "done"; report: object } | { status: "failed"; error: string };
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  // The training job has just cached them (sentence-vectors.ts): normally read, not embedded. An
  // encoder failure fails the job (tried again), not the report: it says nothing of the data.
  const plan = options.encoder ? sentenceEncoderPlan(data.intents, data.language) : null;
  const vectors =
    plan && options.encoder
      ? (await sentenceVectorsFor(options.pool ?? prismaSql(db), tenantId, plan.texts, options.encoder, signal)).vectors
      : undefined;
  try {
    const report = await inThread(data, signal, vectors);
    outcome = { status: "done", report };
  } catch (err) {
    // The job's own end (the worker stopping) is no verdict on the data: tried again later.
    if (options.signal?.aborted) throw err;
    outcome = {
      status: "failed",
      error: timeout.aborted ? `took longer than ${limit / 1000} s` : (err as Error).message,
    };
  }
  const durationMs = Math.round(performance.now() - started);
  await db.nluEvaluation.upsert({
    where,
    create: { tenantId, fingerprint: version.fingerprint, revision: version.revision, durationMs, ...outcome },
    update: {},
  });
  return "stored";
}

export interface StoredEvaluation {
  fingerprint: string;
  revision: bigint;
  status: string;
  report: EvaluationReport | null;
  error: string | null;
  durationMs: number;
  createdAt: Date;
}

const stored = (row: Omit<StoredEvaluation, "report"> & { report: unknown }): StoredEvaluation => ({
  ...row,
  report: row.report as EvaluationReport | null,
});

/** The report of one training version, done or failed, if stored. */
export async function evaluationOf(db: Db, tenantId: string, fingerprint: string): Promise<StoredEvaluation | null> {
  const row = await db.nluEvaluation.findUnique({ where: { tenantId_fingerprint: { tenantId, fingerprint } } });
  return row && stored(row);
}

/** The tenant's latest finished report, of whichever version. */
export async function latestEvaluation(db: Db, tenantId: string): Promise<StoredEvaluation | null> {
  const row = await db.nluEvaluation.findFirst({ where: { tenantId, status: "done" }, orderBy: { createdAt: "desc" } });
  return row && stored(row);
}
