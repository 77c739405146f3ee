import { isDatabaseUnavailable, untilDatabaseAnswers, type Pool } from "@cb/db";
import type { Task, TaskList } from "graphile-worker";

/** Outages a job sits through in one run before it fails like any job (a database that keeps going away). */
export const MAX_OUTAGES_A_RUN = 10;

/**
 * A task that failed because the database went away (restarting, failing over) runs again as soon as
 * `pool` answers, in the same job, rather than failing: a failed job waits out graphile-worker's
 * backoff (e, e², e³... seconds) after the database is back, and uses up one of its attempts. The
 * job keeps its queue meanwhile, so a conversation's later messages still wait for it. Tasks are
 * idempotent (every job may run twice); the job's time limit bounds the wait, its signal ends it.
 */
export function resumeAfterOutage(task: Task, pool: Pool): Task {
  return async (payload, helpers) => {
    for (let outages = 0; ; outages++) {
      try {
        return await task(payload, helpers);
      } catch (err) {
        if (!isDatabaseUnavailable(err) || outages >= MAX_OUTAGES_A_RUN) throw err;
        helpers.logger.warn("job failed as the database went away; it runs again once the database answers", {
          error: err,
        });
        await untilDatabaseAnswers(pool, helpers.abortSignal);
      }
    }
  };
}

/** Every task of a list resumed after outages. */
export function resumeTaskListAfterOutage(taskList: TaskList, pool: Pool): TaskList {
  return Object.fromEntries(
    Object.entries(taskList).map(([name, task]) => [name, resumeAfterOutage(task as Task, pool)]),
  );
}
