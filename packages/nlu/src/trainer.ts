import { Worker } from "node:worker_threads";
import type { StoredModel } from "./stored-model.ts";
import type { TrainingData } from "./training-data.ts";

export interface Trainer {
  /**
   * Trains a model in a worker thread; `signal` ends the thread (a job's time limit), rejecting with
   * its reason. Null at once when all its threads are busy: nothing waits here (see createTrainer).
   * `sentenceVectors`: the encoder's vectors of the texts sentenceEncoderPlan listed, when it is on.
   */
  train(data: TrainingData, signal?: AbortSignal, extra?: TrainingExtra): Promise<StoredModel> | null;
  /** Whether a thread is free now (train would not return null): a job checks before minutes of embedding. */
  available?(): boolean;
}

export interface TrainingExtra {
  sentenceVectors?: ReadonlyMap<string, Float32Array>;
}

/** What the training thread is given (training-thread.ts). */
export type TrainingInput = { data: TrainingData } & TrainingExtra;

export interface TrainerOptions {
  /** Trainings one process runs at once, each in a thread of its own (default 1: one core of the process's two). */
  concurrency?: number;
}

const THREAD = new URL("./training-thread.ts", import.meta.url);

function inThread(data: TrainingData, signal?: AbortSignal, extra: TrainingExtra = {}): Promise<StoredModel> {
  signal?.throwIfAborted();
  // A thread per training: its memory (word vectors, the training set's vectors) goes with it, and a
  // run past its time limit can be ended, which a promise on the event loop cannot. The thread
  // inherits this process's flags (--import tsx).
  const worker = new Worker(THREAD, { workerData: { data, ...extra } satisfies TrainingInput });
  return new Promise<StoredModel>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", abort);
      fn();
    };
    const abort = () => {
      settle(() => reject(signal!.reason));
      void worker.terminate();
    };
    signal?.addEventListener("abort", abort, { once: true });
    worker.once("message", (model: StoredModel) => settle(() => resolve(model)));
    worker.once("error", (err) => settle(() => reject(err)));
    worker.once("exit", (code) =>
      settle(() => reject(new Error(`the training thread exited (code ${code}) without a model`))),
    );
  });
}

/**
 * Trainings refused rather than queued when the threads are busy: graphile-worker fetches jobs a
 * batch at a time, and a training waiting here for a thread would spend its job's time limit (and
 * hold its job from the deployment's other workers) while it waits. Its job comes back later
 * instead (training.ts), so a job's time counts from its training's start.
 */
export function createTrainer(options: TrainerOptions = {}): Trainer {
  const threads = options.concurrency ?? 1;
  let running = 0;
  return {
    available: () => running < threads,
    train(data, signal, extra) {
      if (running >= threads) return null;
      running++;
      // Started a tick later, so that whatever it throws (the thread not starting) rejects, and frees the slot.
      return Promise.resolve()
        .then(() => inThread(data, signal, extra))
        .finally(() => running--);
    },
  };
}
