import { consoleLogFactory, Logger, run, type Runner, type TaskList, type WorkerEvents } from "graphile-worker";
import pg from "pg";

export type { Runner, TaskList, Task, JobHelpers, WorkerEvents } from "graphile-worker";

export interface WorkerOptions {
  connectionString: string;
  taskList: TaskList;
  /** Jobs run at once in this process. */
  concurrency?: number;
  /** Fallback poll interval; new jobs normally arrive at once through LISTEN/NOTIFY. */
  pollIntervalMs?: number;
  /** graphile-worker's event emitter, for observers that must see the runner's first events. */
  events?: WorkerEvents;
  /** Jobs fetched (and locked) per round trip; `concurrency` by default (see startWorker). */
  localQueueSize?: number;
  /** Recurring jobs, in graphile-worker's crontab format (one line per job). */
  crontab?: string;
}

// graphile-worker logs every completed job at info: at hundreds of jobs a second that is noise and
// CPU. Warnings and errors (failed jobs, lost connections) still reach the console.
const quietLogger = new Logger((scope) => {
  const log = consoleLogFactory(scope);
  return (level, message, meta) => {
    if (level === "error" || level === "warning") log(level, message, meta);
  };
});

/**
 * Starts a graphile-worker runner. Many runners on one database share the work; jobs of one
 * queue never run concurrently. The caller owns shutdown (`runner.stop()` finishes running jobs).
 */
export async function startWorker(options: WorkerOptions): Promise<Runner> {
  // Our own pool, so a dropped connection (database restart) is reported and replaced, never thrown.
  const pool = new pg.Pool({ connectionString: options.connectionString, max: (options.concurrency ?? 10) + 2 });
  let reported = false;
  pool.on("error", (err) => {
    if (!reported) console.error(`job database connection lost (${err.message}); reconnecting as needed`);
    reported = true;
  });
  pool.on("connect", (client) => client.on("error", () => {}));
  const runner = await run({
    pgPool: pool,
    taskList: options.taskList,
    concurrency: options.concurrency ?? 10,
    pollInterval: options.pollIntervalMs ?? 2000,
    logger: quietLogger,
    // Under load a turn is a few milliseconds of work, so a round trip to fetch each job and another
    // to complete it would cost as much as the turn: jobs are fetched a batch at a time (one per
    // slot, as graphile-worker advises: a batch is milliseconds of work, so other workers of a
    // scaled-out deployment are not left idle behind it) and completions written together,
    // waiting no longer than a tick.
    preset: {
      worker: {
        localQueue: { size: options.localQueueSize ?? options.concurrency ?? 10 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
    // The app decides when to stop (graceful shutdown finishes running jobs first).
    noHandleSignals: true,
    ...(options.events ? { events: options.events } : {}),
    ...(options.crontab ? { crontab: options.crontab } : {}),
  });
  void runner.promise.finally(() => pool.end()).catch(() => {});
  return runner;
}
