import { run, type Runner, type TaskList } from "graphile-worker";

export type { Runner, TaskList, Task, JobHelpers } from "graphile-worker";

export interface WorkerOptions {
  connectionString: string;
  taskList: TaskList;
  /** Jobs run at once in this process. */
  concurrency?: number;
  /** Fallback poll interval; new jobs normally arrive at once through LISTEN/NOTIFY. */
  pollIntervalMs?: number;
}

/**
 * Starts a graphile-worker runner. Many runners on one database share the work; jobs of one
 * queue never run concurrently. The caller owns shutdown (`runner.stop()` finishes running jobs).
 */
export function startWorker(options: WorkerOptions): Promise<Runner> {
  return run({
    connectionString: options.connectionString,
    taskList: options.taskList,
    concurrency: options.concurrency ?? 10,
    pollInterval: options.pollIntervalMs ?? 2000,
    // The app decides when to stop (graceful shutdown finishes running jobs first).
    noHandleSignals: true,
  });
}
