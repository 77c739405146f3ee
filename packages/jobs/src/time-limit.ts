import type { Task, TaskList } from "graphile-worker";

/** A job's run ended by its time limit (it is failed, and retried like any failed job). */
export class JobTimeoutError extends Error {
  constructor(readonly limitMs: number) {
    super(`the job ran longer than its limit of ${limitMs} ms`);
    this.name = "JobTimeoutError";
  }
}

export interface TimeLimitOptions {
  /** How long a job may run before its abortSignal fires. */
  maxRunMs: number;
  /** After the abort, how long the task may take to wind up (record what it was doing) before the job fails. */
  graceMs?: number;
}

/**
 * graphile-worker has no time limit: a job waiting on something that never answers holds its slot
 * and its queue (a conversation's, an order's) for good. Each task here gets an abortSignal that
 * fires after `maxRunMs` (or on graphile-worker's own shutdown signal); a task that does not settle
 * within `graceMs` after that fails with JobTimeoutError, so the job is retried and its queue moves.
 * A promise cannot be killed: a task ignoring the signal runs on in the background, which is why
 * every query and HTTP call also has its own limit.
 */
export function limitRunTime(task: Task, options: TimeLimitOptions): Task {
  const grace = options.graceMs ?? 1_000;
  return (payload, helpers) => {
    const limit = new AbortController();
    const abortSignal = AbortSignal.any([helpers.abortSignal, limit.signal]);
    const abortPromise = new Promise<void>((_resolve, reject) =>
      abortSignal.addEventListener("abort", () => reject(abortSignal.reason), { once: true }),
    );
    abortPromise.catch(() => {});
    const run = Promise.resolve(task(payload, { ...helpers, abortSignal, abortPromise }));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const error = new JobTimeoutError(options.maxRunMs);
        limit.abort(error);
        timer = setTimeout(() => reject(error), grace);
      }, options.maxRunMs);
    });
    return Promise.race([run, expired]).finally(() => clearTimeout(timer));
  };
}

/** Every task of a list with the time limit. */
export function limitTaskList(taskList: TaskList, options: TimeLimitOptions): TaskList {
  return Object.fromEntries(
    Object.entries(taskList).map(([name, task]) => [name, limitRunTime(task as Task, options)]),
  );
}
