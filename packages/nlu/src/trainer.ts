import { Worker } from "node:worker_threads";
import pLimit from "p-limit";
import type { StoredModel } from "./stored-model.ts";
import type { TrainingData } from "./training-data.ts";

export interface Trainer {
  /** Trains a model in a worker thread; `signal` ends the thread (a job's time limit), rejecting with its reason. */
  train(data: TrainingData, signal?: AbortSignal): Promise<StoredModel>;
}

export interface TrainerOptions {
  /** Trainings one process runs at once, each in a thread of its own (default 1: one core of the process's two). */
  concurrency?: number;
}

const THREAD = new URL("./training-thread.ts", import.meta.url);

function inThread(data: TrainingData, signal?: AbortSignal): Promise<StoredModel> {
  signal?.throwIfAborted();
  // A thread per training: its memory (word vectors, the training set's vectors) goes with it, and a
  // run past its time limit can be ended, which a promise on the event loop cannot. The thread
  // inherits this process's flags (--import tsx).
  const worker = new Worker(THREAD, { workerData: data });
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

export function createTrainer(options: TrainerOptions = {}): Trainer {
  const limit = pLimit(options.concurrency ?? 1);
  return {
    train: (data, signal) => limit(() => inThread(data, signal)),
  };
}
