import type { WorkerEvents } from "graphile-worker";

/**
 * Calls `onDone(poolId)` once a worker pool that hit a fatal error (it could not record a job's
 * outcome: the database went away) has no worker left, that is once none of its jobs still runs.
 * graphile-worker (0.18) ends such a pool with a graceful shutdown that may never finish: after a
 * second failed batch of completions its batcher miscounts what is pending and waits forever, so
 * the runner's promise never settles. Its workers do stop, each after its job: this is the end
 * that can be relied on.
 */
export function onFailedPoolDone(events: WorkerEvents, onDone: (poolId: string) => void): void {
  const workers = new Map<string, number>();
  const failed = new Set<string>();
  const done = new Set<string>();
  const check = (poolId: string) => {
    if (!failed.has(poolId) || workers.get(poolId) || done.has(poolId)) return;
    done.add(poolId);
    failed.delete(poolId);
    onDone(poolId);
  };
  events.on("worker:create", ({ worker }) => {
    const id = worker.workerPool.id;
    workers.set(id, (workers.get(id) ?? 0) + 1);
  });
  events.on("worker:stop", ({ worker }) => {
    const id = worker.workerPool.id;
    const left = (workers.get(id) ?? 1) - 1;
    if (left > 0) workers.set(id, left);
    else workers.delete(id);
    check(id);
  });
  events.on("pool:fatalError", ({ workerPool }) => {
    failed.add(workerPool.id);
    check(workerPool.id);
  });
}
