import { defaultLogger, type Logger } from "@cb/logging";
import {
  Logger as GraphileLogger,
  run,
  type Job,
  type Runner,
  type TaskList,
  type WorkerEvents,
} from "graphile-worker";
import { withoutClient } from "@cb/db";
import { EventEmitter } from "node:events";
import pg from "pg";
import { resumeTaskListAfterOutage } from "./outage.ts";
import { onFailedPoolDone } from "./pool-ends.ts";
import { rankTaskList } from "./rank.ts";
import { limitTaskList } from "./time-limit.ts";

export type { Runner, TaskList, Task, JobHelpers, WorkerEvents } from "graphile-worker";

export interface WorkerOptions {
  connectionString: string;
  taskList: TaskList;
  /**
   * Jobs in flight at once in this process (DEFAULT_CONCURRENCY). A job waiting on HTTP costs a
   * promise, not a thread or a connection, so this can be in the hundreds.
   */
  concurrency?: number;
  /** How long a job may run before it is aborted, failed and retried (DEFAULT_MAX_RUN_MS). */
  maxRunMs?: number;
  /** How often a worker with nothing to run looks for jobs (DEFAULT_POLL_MS). */
  pollIntervalMs?: number;
  /** graphile-worker's event emitter, for observers that must see the runner's first events. */
  events?: WorkerEvents;
  /** Jobs fetched (and locked) per round trip; `concurrency`, at most 50, by default (see startWorker). */
  localQueueSize?: number;
  /** Recurring jobs, in graphile-worker's crontab format (one line per job). */
  crontab?: string;
  /** Where the runner and the tasks' `helpers.logger` log. */
  logger?: Logger;
  /** A runner that has not fetched jobs this long after starting is started again (FIRST_FETCH_MS). */
  firstFetchWithinMs?: number;
}

// graphile-worker logs every completed job at info: at hundreds of jobs a second that is noise and
// CPU. Its warnings and errors (failed jobs, lost connections) go to the process logger, with the
// scope it names (worker, task, job); of a failed job, its id, task and attempt (not its payload);
// its `error` as `err`, which pino serializes with its message and stack.
function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    if (level !== "error" && level !== "warning") return;
    const { error, job, ...rest } = (meta ?? {}) as { error?: unknown; job?: Job };
    const fields = {
      ...scope,
      ...rest,
      ...(job ? { jobId: job.id, taskIdentifier: job.task_identifier, attempts: job.attempts } : {}),
      ...(error === undefined ? {} : { err: error }),
    };
    if (level === "error") logger.error(fields, message);
    else logger.warn(fields, message);
  });
}

/** A graphile-worker runner kept running: `stop()` finishes running jobs; `restarts` counts recoveries. */
export interface JobRunner {
  stop(): Promise<void>;
  readonly restarts: number;
  /** False once stopped, and while a runner that ended on its own is not yet started again. */
  readonly running: boolean;
}

const RESTART_DELAY_MS = 1_000;
/**
 * graphile-worker (0.18) looks up the ids of its tasks on a runner's first fetch and keeps the answer
 * for the runner's life, a failure included: a runner whose first fetch failed (its connection cut
 * at that moment, the database restarting) fails every later fetch with that same error and never
 * runs a job, while nothing ends. A healthy runner fetches within its first poll interval.
 */
export const FIRST_FETCH_MS = 10_000;

export const DEFAULT_CONCURRENCY = 300;
/**
 * A new job wakes an idle worker at once (LISTEN/NOTIFY), but a job that becomes runnable without
 * being inserted does not: the next job of a conversation's queue once the one before it ends, an
 * inbox expansion queued behind the running one. Those wait for the next poll, so the poll is what
 * a busy conversation's next message waits for: at graphile-worker's 2 s, the `spikes` scenario's
 * median was 1.3–2.4 s; at 100 ms, under 1 s. A poll that finds nothing costs one indexed read
 * (0.03 ms, Benchmarks): ten a second per idle worker.
 */
export const DEFAULT_POLL_MS = 100;
export const DEFAULT_MAX_RUN_MS = 5 * 60_000;
/** How long a job can stay locked by a healthy worker (fetched ahead, run, wound up); longer, it is stuck. */
export const stuckAfterMs = (maxRunMs = DEFAULT_MAX_RUN_MS) => LOCAL_QUEUE_TTL_MS + maxRunMs + 60_000;
const LOCAL_QUEUE_SIZE = 50;
/** Jobs fetched ahead but not started go back to the database after this long. */
export const LOCAL_QUEUE_TTL_MS = 60_000;
// The runner's own use of the database: fetching batches of jobs, completing and failing them in
// batches, LISTEN, the crontab, and the odd addJob from a task. Not one per job: a job's own queries
// go through the app's pool.
const JOB_POOL_SIZE = 8;

/**
 * Starts a graphile-worker runner, and starts it again whenever it stops on its own. graphile-worker
 * ends its worker pool for good when it cannot record a job's outcome (a database restart at the
 * wrong moment: "Failed to fail jobs"), while the process lives on; unwatched, such a worker would
 * hold its jobs and do nothing until restarted by hand. Many runners on one database share the
 * work; jobs of one queue never run concurrently. The caller owns shutdown.
 */
export async function startWorker(options: WorkerOptions): Promise<JobRunner> {
  // Our own pool, so a dropped connection (database restart) is reported and replaced, never thrown.
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: JOB_POOL_SIZE,
    connectionTimeoutMillis: 5_000,
  });
  const logger = options.logger ?? defaultLogger();
  const lost = (err: Error) =>
    logger.warn({ err: withoutClient(err) }, "job database connection lost; a new one is opened on next use");
  pool.on("error", lost);
  pool.on("connect", (client) => client.on("error", lost));
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const events: WorkerEvents = options.events ?? new EventEmitter();
  let fetched = false;
  events.on("localQueue:getJobs:complete", () => {
    fetched = true;
  });
  const maxRunMs = options.maxRunMs ?? DEFAULT_MAX_RUN_MS;
  const taskList = limitTaskList(resumeTaskListAfterOutage(rankTaskList(options.taskList), pool), { maxRunMs });
  const start = () => {
    fetched = false;
    return run({
      pgPool: pool,
      taskList,
      concurrency,
      pollInterval: options.pollIntervalMs ?? DEFAULT_POLL_MS,
      logger: graphileLogger(logger),
      // Under load a turn is a few milliseconds of work, so a round trip to fetch each job and another
      // to complete it would cost as much as the turn: jobs are fetched a batch at a time (at most
      // LOCAL_QUEUE_SIZE, however many slots, so that a burst is shared with the other workers of a
      // scaled-out deployment rather than fetched whole by one) and completions written together,
      // waiting no longer than a tick.
      preset: {
        worker: {
          localQueue: {
            // At least one: the first-fetch check below watches the local queue's fetches.
            size: Math.max(1, options.localQueueSize ?? Math.min(concurrency, LOCAL_QUEUE_SIZE)),
            ttl: LOCAL_QUEUE_TTL_MS,
          },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
          // A pool that stops (told to, or because it could not record a job's outcome) aborts its
          // running jobs after this long: graphile-worker's 5 s cut turns off mid-send under load (a
          // reply the platform took, then sent again by the retry). They have their own time limit.
          gracefulShutdownAbortTimeout: maxRunMs,
        },
      },
      // The app decides when to stop (graceful shutdown finishes running jobs first).
      noHandleSignals: true,
      events,
      ...(options.crontab ? { crontab: options.crontab } : {}),
    });
  };

  let stopping = false;
  let restarts = 0;
  let running = true;
  let firstFetchTimer: NodeJS.Timeout | undefined;
  let retired: Runner | undefined;
  const firstFetchWithin = options.firstFetchWithinMs ?? FIRST_FETCH_MS;
  // A runner that has not fetched in time (FIRST_FETCH_MS) is stopped: it holds no job yet, and its
  // end starts a new one, with a new lookup, below.
  const checkFirstFetch = (runner: Runner): void => {
    firstFetchTimer = setTimeout(() => {
      if (stopping || fetched || runner !== current) return;
      retired = runner;
      logger.warn({ afterMs: firstFetchWithin }, "job runner has not fetched jobs since it started; starting it again");
      runner.stop().catch(() => {});
    }, firstFetchWithin);
    firstFetchTimer.unref();
  };
  // The pool of the runner being started: its pool:create comes while run() is under way.
  let startingPool = "";
  events.on("pool:create", ({ workerPool }) => {
    startingPool = workerPool.id;
  });
  // How each runner's end is noticed, by its pool's id (see watch).
  const endings = new Map<string, () => void>();
  onFailedPoolDone(events, (poolId) => endings.get(poolId)?.());
  let current: Runner = await start();
  // Settles when the current runner has ended (or its failed pool is done); stop() waits for it.
  let currentEnded: Promise<void> = Promise.resolve();
  // graphile-worker's runner.promise resolves even when its worker pool ended on an error: any end
  // this process did not ask for is a failure. A pool that failed may also never end (pool-ends.ts):
  // once its workers have stopped, the runner is over all the same, and a new one starts.
  const watch = (runner: Runner, poolId: string): void => {
    checkFirstFetch(runner);
    let over = false;
    let settle!: () => void;
    currentEnded = new Promise((resolve) => (settle = resolve));
    const ended = async (err?: unknown) => {
      if (over) return;
      over = true;
      endings.delete(poolId);
      settle();
      if (stopping) return;
      running = false;
      if (runner !== retired) logger.error({ err }, "job runner stopped without being told to; starting it again");
      while (!stopping) {
        await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
        if (stopping) return;
        try {
          current = await start();
          if (stopping) {
            current.stop().catch(() => {});
            return;
          }
          running = true;
          restarts++;
          watch(current, startingPool);
          return;
        } catch (retryErr) {
          logger.error({ err: retryErr }, "job runner could not start; trying again");
        }
      }
    };
    endings.set(poolId, () => {
      // Stopping it releases its crontab; its pool's own shutdown may never finish.
      runner.stop().catch(() => {});
      ended(new Error("its worker pool failed and none of its jobs runs any more"));
    });
    runner.promise.then(() => ended(), ended);
  };
  watch(current, startingPool);
  return {
    get restarts() {
      return restarts;
    },
    get running() {
      return running;
    },
    async stop() {
      stopping = true;
      running = false;
      clearTimeout(firstFetchTimer);
      // A runner that already ended on an error rejects again here: that error was logged when it ended.
      // One whose pool failed may never settle: its end is when its workers are done.
      current.stop().catch(() => {});
      await currentEnded;
      await pool.end();
    },
  };
}
