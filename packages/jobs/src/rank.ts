import { withRank } from "@cb/db";
import type { Task, TaskList } from "graphile-worker";

/**
 * A task whose queries wait for the pool's connections in the job's place in line (@cb/db
 * connection-order.ts): its priority, then when it was due, the order graphile-worker fetches jobs
 * in. A worker holds hundreds of jobs at once; they so keep that order wherever they wait for the
 * database, rather than each query joining the back of one line.
 */
export function rankTask(task: Task): Task {
  return (payload, helpers) =>
    withRank([helpers.job.priority, helpers.job.run_at.getTime()], () => task(payload, helpers));
}

/** Every task of a list ranked. */
export function rankTaskList(taskList: TaskList): TaskList {
  return Object.fromEntries(Object.entries(taskList).map(([name, task]) => [name, rankTask(task as Task)]));
}
