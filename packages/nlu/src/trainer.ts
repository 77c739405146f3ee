import { Worker } from "node:worker_threads";
import type { StoredModel } from "./stored-model.ts";
import type { TrainingData } from "./training-data.ts";

export interface Trainer {
  /**
   * Trains a model in a worker thread (and its encoder head in a second one); `signal` ends them (a
   * job's time limit), rejecting with its reason. Null at once when all its trainings' slots are
   * busy: nothing waits here (see createTrainer).
   */
  train(data: TrainingData, signal?: AbortSignal, extra?: TrainingExtra): Promise<StoredModel> | null;
}

export interface TrainingExtra {
  /**
   * The encoder's vectors of the texts sentenceEncoderPlan listed, when it is on. A promise: the
   * n-gram model trains meanwhile, and the encoder head once it resolves; its rejection ends the
   * threads and the training rejects with it.
   */
  sentenceVectors?: Promise<ReadonlyMap<string, Float32Array>>;
}

/** What the training thread is given (training-thread.ts): the data, and whether an encoder head will be posted to it. */
export type TrainingInput = { data: TrainingData; headFollows: boolean };

export interface TrainerOptions {
  /**
   * Trainings one process runs at once, each in a thread of its own (default 1: one core of the
   * process's two), and its encoder head in a second once the vectors are there: during a first
   * training the encoder's thread has the other core until then.
   */
  concurrency?: number;
}

const THREAD = new URL("./training-thread.ts", import.meta.url);
const HEAD_THREAD = new URL("./head-thread.ts", import.meta.url);

function inThread(data: TrainingData, signal?: AbortSignal, extra: TrainingExtra = {}): Promise<StoredModel> {
  signal?.throwIfAborted();
  const vectors = extra.sentenceVectors;
  // A thread per training: its memory (word vectors, the training set's vectors) goes with it, and a
  // run past its time limit can be ended, which a promise on the event loop cannot. The thread
  // inherits this process's flags (--import tsx). With vectors to come, a second thread for the
  // encoder head, started now so that it is loaded when they arrive.
  const worker = new Worker(THREAD, { workerData: { data, headFollows: !!vectors } satisfies TrainingInput });
  const head = vectors && new Worker(HEAD_THREAD, { workerData: { intents: data.intents } });
  return new Promise<StoredModel>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", abort);
      void head?.terminate();
      fn();
    };
    const fail = (reason: unknown) => {
      settle(() => reject(reason));
      void worker.terminate();
    };
    const abort = () => fail(signal!.reason);
    signal?.addEventListener("abort", abort, { once: true });
    for (const [thread, what] of [
      [worker, "training"],
      [head, "encoder head"],
    ] as const) {
      thread?.once("error", fail);
      thread?.once("exit", (code) => fail(new Error(`the ${what} thread exited (code ${code}) without a model`)));
    }
    worker.once("message", (model: StoredModel) => settle(() => resolve(model)));
    head?.once("message", (serialized) => {
      // Its work done, the head's thread ends: no failure.
      head.removeAllListeners("exit");
      worker.postMessage(serialized);
    });
    vectors?.then((map) => {
      if (!settled) head!.postMessage(map);
    }, fail);
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
