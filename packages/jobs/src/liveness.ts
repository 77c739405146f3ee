import { defaultLogger, type Logger } from "@cb/logging";
import { makeWorkerUtils, type WorkerEvents, type WorkerUtils } from "graphile-worker";
import pg from "pg";
import { every } from "./every.ts";
import { onFailedPoolDone } from "./pool-ends.ts";
import { stuckAfterMs } from "./worker.ts";

export interface LivenessOptions {
  connectionString: string;
  /** The emitter the runner is started with (so its pool's first events are seen). */
  events: WorkerEvents;
  /** How often this process says it is alive and looks for dead workers. */
  intervalMs?: number;
  /** A worker silent this long is dead: its jobs and queues are unlocked for others. */
  deadAfterMs?: number;
  /**
   * A job locked this long is stuck, whoever holds it: it and its queue are unlocked. Longer than a
   * job can wait fetched ahead plus its time limit (stuckAfterMs(maxRunMs) from startWorker's
   * maxRunMs), so only a worker that is alive but no longer finishing its jobs is caught.
   */
  stuckAfterMs?: number;
  onError?: (err: unknown) => void;
  /** Where failures go when there is no onError. */
  logger?: Logger;
}

/**
 * graphile-worker releases a crashed worker's locks only after 4 hours. Each process here writes
 * a heartbeat for its workers; any process that finds jobs locked by a worker whose heartbeat is
 * stale (or that never wrote one) unlocks them with graphile-worker's own forceUnlockWorkers, so a
 * killed worker's conversation resumes on another within seconds.
 */
export async function keepWorkersAlive(options: LivenessOptions): Promise<{ stop(): Promise<void> }> {
  const interval = options.intervalMs ?? 5_000;
  const deadAfter = options.deadAfterMs ?? 30_000;
  const stuckAfter = options.stuckAfterMs ?? stuckAfterMs();
  // Jobs are locked by a worker's id or, when fetched in batches, by its pool's id: both count.
  const workerIds = new Set<string>();
  options.events.on("pool:create", ({ workerPool }) => workerIds.add(workerPool.id));
  options.events.on("worker:create", ({ worker }) => workerIds.add(worker.workerId));
  options.events.on("worker:stop", ({ worker }) => workerIds.delete(worker.workerId));
  // A pool that ended is no longer beaten for. One that failed (it could not record a job's
  // outcome) still holds the jobs it had fetched: once none of them runs any more (its workers have
  // stopped; until then it is beaten for, so no one else runs them at the same time), they are
  // unlocked at the next beat, once the database answers, rather than after deadAfterMs.
  const orphaned = new Set<string>();
  options.events.on("pool:release", ({ workerPool }) => workerIds.delete(workerPool.id));
  onFailedPoolDone(options.events, (poolId) => {
    workerIds.delete(poolId);
    orphaned.add(poolId);
  });

  const logger = options.logger ?? defaultLogger();
  const onError = options.onError ?? ((err: unknown) => logger.error({ err }, "worker liveness check failed"));
  const pool = new pg.Pool({ connectionString: options.connectionString, max: 1 });
  // Connections can drop (database restart); errors on idle ones are reported, never thrown.
  pool.on("error", onError);
  pool.on("connect", (client) => client.on("error", onError));
  const utils: WorkerUtils = await makeWorkerUtils({ pgPool: pool });

  async function beat(): Promise<void> {
    if (orphaned.size) {
      const ids = [...orphaned];
      await utils.forceUnlockWorkers(ids);
      for (const id of ids) orphaned.delete(id);
    }
    if (workerIds.size) {
      await pool.query(
        `INSERT INTO "WorkerHeartbeat" ("workerId", "seenAt") SELECT unnest($1::text[]), now()
         ON CONFLICT ("workerId") DO UPDATE SET "seenAt" = now()`,
        [[...workerIds]],
      );
    }
    const { rows } = await pool.query<{ locked_by: string }>(
      `SELECT DISTINCT j.locked_by FROM graphile_worker.jobs j
       WHERE j.locked_by IS NOT NULL AND j.locked_at < now() - $1 * interval '1 millisecond'
         AND NOT EXISTS (SELECT 1 FROM "WorkerHeartbeat" h WHERE h."workerId" = j.locked_by AND h."seenAt" > now() - $1 * interval '1 millisecond')`,
      [deadAfter],
    );
    const dead = rows.map((r) => r.locked_by).filter((id) => !workerIds.has(id));
    if (dead.length) await utils.forceUnlockWorkers(dead);
    // Only the stuck job and its queue: the worker's other jobs are running fine. graphile-worker has
    // no call for one job, so its tables are updated as forceUnlockWorkers does.
    const { rows: stuck } = await pool.query<{ id: string; locked_by: string }>(
      `WITH stuck AS (
         UPDATE graphile_worker._private_jobs j SET locked_at = NULL, locked_by = NULL
         FROM (SELECT id, locked_by FROM graphile_worker._private_jobs
               WHERE locked_at < now() - $1 * interval '1 millisecond' FOR UPDATE) held
         WHERE j.id = held.id
         RETURNING j.id, j.job_queue_id, held.locked_by
       ), queues AS (
         UPDATE graphile_worker._private_job_queues q SET locked_at = NULL, locked_by = NULL
         FROM stuck WHERE q.id = stuck.job_queue_id AND q.locked_by = stuck.locked_by
       )
       SELECT id, locked_by FROM stuck`,
      [stuckAfter],
    );
    if (stuck.length)
      onError(
        new Error(
          `unlocked ${stuck.length} job(s) held longer than ${stuckAfter} ms by a stuck worker (${[...new Set(stuck.map((s) => s.locked_by))].join(", ")})`,
        ),
      );
    await pool.query(`DELETE FROM "WorkerHeartbeat" WHERE "seenAt" < now() - interval '1 day'`);
  }

  const beating = every(interval, beat, onError, { now: true });

  return {
    async stop() {
      await beating.stop();
      // Best effort on the way out: a heartbeat left behind only ages until the daily clean-up.
      if (workerIds.size)
        await pool
          .query(`DELETE FROM "WorkerHeartbeat" WHERE "workerId" = ANY($1::text[])`, [[...workerIds]])
          .catch(() => {});
      await utils.release();
      await pool.end();
    },
  };
}
