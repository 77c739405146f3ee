import { type ResourceLimits, Worker } from "node:worker_threads";
import { defaultLogger, type Logger } from "@cb/logging";
import { SENTENCE_ENCODER } from "./model.ts";
import type { EncoderReply, EncoderRequest } from "./sentence-encoder-thread.ts";

export interface SentenceEncoder {
  readonly name: string;
  readonly dimensions: number;
  /**
   * Unit-length vectors, in order. `priority` "turn" goes before queued "training" batches; `signal`
   * (a training job's end) drops the batches not yet embedded.
   */
  embed(texts: string[], priority?: "turn" | "training", signal?: AbortSignal): Promise<Float32Array[]>;
}

export interface SentenceEncoderRuntime extends SentenceEncoder {
  /** Ends the thread; embeddings asked for after it start a new one. */
  close(): Promise<void>;
  /** Threads started so far (a dead or stuck one is replaced by the next request), and texts embedded. */
  stats(): { threads: number; embedded: number };
}

export interface SentenceEncoderOptions {
  logger?: Logger;
  /** A turn's embedding, its wait for the thread included, before the turn goes on without it (DEFAULT_TURN_TIMEOUT_MS). */
  turnTimeoutMs?: number;
  /**
   * One request on the thread (a batch, and for the first one the model's load): past this the thread
   * counts as stuck, is ended, and the next request starts another (DEFAULT_REQUEST_TIMEOUT_MS).
   */
  requestTimeoutMs?: number;
  /** Texts a training sends the thread at once; a turn waits behind one such batch at most (DEFAULT_BATCH_SIZE). */
  batchSize?: number;
  /** The thread's own V8 heap (DEFAULT_RESOURCE_LIMITS); onnxruntime's session and the weights are outside it. */
  resourceLimits?: ResourceLimits;
  /** The thread's module (tests give one that can be made to fail). */
  thread?: URL;
}

export const SENTENCE_DIMENSIONS = 512;
/** A turn's budget: an embedding takes 1–3 ms, a training batch ahead of it ~6 ms (quiet machine). */
export const DEFAULT_TURN_TIMEOUT_MS = 2_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/**
 * 8: a turn waits behind an eighth of what it would behind 64, for little throughput (texts of like
 * length: 0.71–0.75 ms a text at 8, 0.62–0.78 at 64: npm run bench:nlu-encoder-speed); a turn's
 * wait behind a training's batches is ~8 ms at the median at 8, ~25 at 64 (npm run
 * bench:nlu-encoder-memory with BATCH=8 and 64). Chosen at 8 on TF.js, where the same held at 5×
 * the times.
 */
export const DEFAULT_BATCH_SIZE = 8;
/**
 * Set when TF.js ran the encoder in this thread: without a bound its V8 heap grew to ~150 MB while
 * it embedded a few thousand texts, and a 32 MB young generation (not 8) spared the turns most
 * scavenges of TF.js's ~2.4 MB of garbage a sentence. On onnxruntime the tensors live outside the
 * heap and the garbage is the tokenizer's; the bounds stay as a ceiling. The encoder adds 149–151 MB
 * to the process's RSS after 3,000 training texts and 600 turns (npm run bench:nlu-encoder-memory).
 */
export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 32, maxOldGenerationSizeMb: 96 };

const THREAD = new URL("./sentence-encoder-thread.ts", import.meta.url);

interface Job {
  texts: string[];
  resolve(vectors: Float32Array[]): void;
  reject(err: Error): void;
  /** Answered, timed out or aborted: skipped if still queued, its reply dropped if in flight. */
  done: boolean;
}

/**
 * The Universal Sentence Encoder lite in one worker thread per process, shared by turns and trainings:
 * one copy of its weights and session, loaded on the first request. Requests go to the thread one at
 * a time, turns before training batches, so a turn waits for at most one batch, never a training's
 * whole embedding. A thread that errs, exits or takes longer than `requestTimeoutMs` is logged and
 * replaced on the next request; the callers waiting on it get the error.
 */
export function createSentenceEncoder(options: SentenceEncoderOptions = {}): SentenceEncoderRuntime {
  const logger = options.logger ?? defaultLogger();
  const turnTimeoutMs = options.turnTimeoutMs ?? DEFAULT_TURN_TIMEOUT_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const queues: Record<"turn" | "training", Job[]> = { turn: [], training: [] };
  let thread: Worker | undefined;
  let inFlight: { id: number; job: Job; timer: NodeJS.Timeout } | undefined;
  let ids = 0;
  let threads = 0;
  let embedded = 0;

  function settle(job: Job, outcome: Float32Array[] | Error) {
    if (job.done) return;
    job.done = true;
    if (outcome instanceof Error) job.reject(outcome);
    else job.resolve(outcome);
  }

  /** Ends the thread (stuck, dead or closing); what it was doing fails with `err`. */
  function drop(err: Error) {
    const worker = thread;
    thread = undefined;
    if (inFlight) {
      clearTimeout(inFlight.timer);
      settle(inFlight.job, err);
      inFlight = undefined;
    }
    if (worker) {
      worker.removeAllListeners();
      // An error after this (the thread's last words) has nowhere to go but the log.
      worker.on("error", (e) => logger.error({ err: e }, "sentence encoder thread failed while ending"));
      void worker.terminate();
    }
  }

  function start(): Worker {
    threads++;
    const worker = new Worker(options.thread ?? THREAD, {
      resourceLimits: options.resourceLimits ?? DEFAULT_RESOURCE_LIMITS,
    });
    // The thread must not keep a process alive that has nothing else to do.
    worker.unref();
    worker.on("message", (reply: EncoderReply) => {
      if (!inFlight || reply.id !== inFlight.id) return;
      const { job, timer } = inFlight;
      clearTimeout(timer);
      inFlight = undefined;
      if ("error" in reply) {
        logger.error({ error: reply.error, texts: job.texts.length }, "sentence encoder failed");
        settle(job, new Error(`sentence encoder: ${reply.error.split("\n")[0]}`));
      } else {
        if (reply.loaded) logger.info(reply.loaded, "sentence encoder loaded and warmed up");
        embedded += job.texts.length;
        settle(
          job,
          job.texts.map((_, i) => reply.vectors.subarray(i * SENTENCE_DIMENSIONS, (i + 1) * SENTENCE_DIMENSIONS)),
        );
      }
      pump();
    });
    worker.on("error", (err) => {
      logger.error({ err }, "sentence encoder thread failed; restarted on the next request");
      drop(err);
      pump();
    });
    worker.on("exit", (code) => {
      logger.error({ code }, "sentence encoder thread exited; restarted on the next request");
      drop(new Error(`the sentence encoder thread exited (code ${code})`));
      pump();
    });
    return worker;
  }

  function pump() {
    if (inFlight) return;
    let job: Job | undefined;
    do job = queues.turn.shift() ?? queues.training.shift();
    while (job?.done);
    if (!job) return;
    thread ??= start();
    const id = ++ids;
    const timer = setTimeout(() => {
      logger.error(
        { texts: job.texts.length, timeoutMs: requestTimeoutMs },
        "sentence encoder thread stuck; ended, restarted on the next request",
      );
      drop(new Error(`the sentence encoder took longer than ${requestTimeoutMs} ms`));
      pump();
    }, requestTimeoutMs);
    inFlight = { id, job, timer };
    thread.postMessage({ id, texts: job.texts } satisfies EncoderRequest);
  }

  function enqueue(texts: string[], priority: "turn" | "training"): Job & { promise: Promise<Float32Array[]> } {
    const job = { texts, done: false, ...Promise.withResolvers<Float32Array[]>() };
    queues[priority].push(job);
    pump();
    return job;
  }

  return {
    name: SENTENCE_ENCODER,
    dimensions: SENTENCE_DIMENSIONS,
    async embed(texts, priority = "turn", signal) {
      signal?.throwIfAborted();
      if (!texts.length) return [];
      if (priority === "turn") {
        const job = enqueue(texts, "turn");
        const timer = setTimeout(
          () => settle(job, new Error(`the sentence encoder took longer than ${turnTimeoutMs} ms`)),
          turnTimeoutMs,
        );
        return job.promise.finally(() => clearTimeout(timer));
      }
      // Batched shortest first: the graph pads a batch's sentences to its longest, and texts of like
      // length pad little (CLINC150's examples in batches of 8: 0.70 ms a text against 0.80 in file order).
      const order = [...texts.keys()].sort((a, b) => texts[a]!.length - texts[b]!.length);
      const jobs: ReturnType<typeof enqueue>[] = [];
      for (let i = 0; i < order.length; i += batchSize)
        jobs.push(
          enqueue(
            order.slice(i, i + batchSize).map((j) => texts[j]!),
            "training",
          ),
        );
      // Batches not yet sent are dropped when the training ends or one batch fails.
      const dropAll = (err: Error) => {
        for (const job of jobs) settle(job, err);
      };
      const abort = () => dropAll(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
      signal?.addEventListener("abort", abort, { once: true });
      try {
        const sorted = (await Promise.all(jobs.map((j) => j.promise))).flat();
        const vectors: Float32Array[] = new Array(texts.length);
        for (const [k, j] of order.entries()) vectors[j] = sorted[k]!;
        return vectors;
      } catch (err) {
        dropAll(err as Error);
        throw err;
      } finally {
        signal?.removeEventListener("abort", abort);
      }
    },
    async close() {
      for (const job of [...queues.turn, ...queues.training]) settle(job, new Error("the sentence encoder closed"));
      queues.turn.length = 0;
      queues.training.length = 0;
      drop(new Error("the sentence encoder closed"));
    },
    stats: () => ({ threads, embedded }),
  };
}
