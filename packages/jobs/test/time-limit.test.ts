import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { createTestDatabase } from "@cb/db/testing";
import { addJob, keepWorkersAlive, startWorker, type WorkerEvents } from "../src/index.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

test("a job that never ends is aborted at its time limit, failed with the reason, and its queue moves on", async () => {
  const t = await createTestDatabase();
  try {
    await addJob(t.pool, "hang", {}, { queueName: "conversation:1", maxAttempts: 2 });
    await addJob(t.pool, "next", {}, { queueName: "conversation:1" });
    const aborted: unknown[] = [];
    let nextRan = false;
    const runner = await startWorker({
      connectionString: t.url,
      concurrency: 2,
      pollIntervalMs: 100,
      maxRunMs: 300,
      taskList: {
        hang: (_payload, helpers) => {
          helpers.abortSignal.addEventListener("abort", () => aborted.push(helpers.abortSignal.reason));
          return new Promise(() => {});
        },
        next: async () => {
          nextRan = true;
        },
      },
    });
    try {
      await until("the next job of the queue ran", () => nextRan);
      const [job] = await t.db.$queryRawUnsafe<{ attempts: number; last_error: string; locked_at: Date | null }[]>(
        `SELECT attempts, last_error, locked_at FROM graphile_worker.jobs WHERE task_identifier = 'hang'`,
      );
      assert.equal(job!.attempts, 1);
      assert.match(job!.last_error, /ran longer than its limit of 300 ms/);
      assert.equal(job!.locked_at, null);
      assert.equal(aborted.length, 1, "the task was told through its abortSignal");
    } finally {
      await runner.stop();
    }
  } finally {
    await t.drop();
  }
});

test("a task that winds up after the abort ends with its own outcome; one within its limit is untouched", async () => {
  const t = await createTestDatabase();
  try {
    await addJob(t.pool, "winds-up", {});
    await addJob(t.pool, "quick", {});
    const outcomes: string[] = [];
    const runner = await startWorker({
      connectionString: t.url,
      concurrency: 2,
      pollIntervalMs: 100,
      maxRunMs: 300,
      taskList: {
        "winds-up": (_payload, helpers) =>
          new Promise<void>((resolve) =>
            helpers.abortSignal.addEventListener("abort", () => {
              outcomes.push("wound up");
              resolve();
            }),
          ),
        quick: async () => {
          await sleep(50);
          outcomes.push("quick");
        },
      },
    });
    try {
      await until(
        "both done",
        async () =>
          Number((await t.pool.query(`SELECT count(*) FROM graphile_worker.jobs`)).rows[0].count) === 0 &&
          outcomes.length === 2,
      );
      assert.deepEqual(outcomes.sort(), ["quick", "wound up"]);
    } finally {
      await runner.stop();
    }
  } finally {
    await t.drop();
  }
});

test("liveness unlocks a job held too long by a worker that is alive (its heartbeat fresh) but stuck", async () => {
  const t = await createTestDatabase();
  try {
    await addJob(t.pool, "stuck", {}, { queueName: "conversation:2" });
    await addJob(t.pool, "fine", {}, { queueName: "conversation:3" });
    // Two jobs locked by a worker that keeps beating: one for long, one just now.
    await t.pool.query(
      `UPDATE graphile_worker._private_jobs j SET locked_by = 'alive-worker',
         locked_at = CASE WHEN k.identifier = 'stuck' THEN now() - interval '10 minutes' ELSE now() END
       FROM graphile_worker._private_tasks k WHERE k.id = j.task_id`,
    );
    await t.pool.query(
      `UPDATE graphile_worker._private_job_queues SET locked_by = 'alive-worker', locked_at = now() - interval '10 minutes'`,
    );
    await t.pool.query(`INSERT INTO "WorkerHeartbeat" ("workerId", "seenAt") VALUES ('alive-worker', now())`);
    const reported: string[] = [];
    const liveness = await keepWorkersAlive({
      connectionString: t.url,
      events: new EventEmitter() as WorkerEvents,
      intervalMs: 100,
      stuckAfterMs: 60_000,
      onError: (err) => reported.push((err as Error).message),
    });
    try {
      await until("the stuck job unlocked", () => reported.length > 0);
    } finally {
      await liveness.stop();
    }
    const jobs = await t.db.$queryRawUnsafe<{ task_identifier: string; locked_by: string | null }[]>(
      `SELECT task_identifier, locked_by FROM graphile_worker.jobs ORDER BY task_identifier`,
    );
    assert.deepEqual(jobs, [
      { task_identifier: "fine", locked_by: "alive-worker" },
      { task_identifier: "stuck", locked_by: null },
    ]);
    const queues = await t.db.$queryRawUnsafe<{ queue_name: string; locked_by: string | null }[]>(
      `SELECT queue_name, locked_by FROM graphile_worker._private_job_queues ORDER BY queue_name`,
    );
    assert.deepEqual(queues, [
      { queue_name: "conversation:2", locked_by: null },
      { queue_name: "conversation:3", locked_by: "alive-worker" },
    ]);
    assert.match(reported[0]!, /unlocked 1 job\(s\) held longer than 60000 ms by a stuck worker \(alive-worker\)/);
  } finally {
    await t.drop();
  }
});

test("a stopping runner (told to, or its pool failed) lets a running job finish within its time limit, past graphile-worker's 5 s abort", async () => {
  const t = await createTestDatabase();
  try {
    await addJob(t.pool, "slow", {});
    let started = false;
    let aborted = false;
    let finished = false;
    const runner = await startWorker({
      connectionString: t.url,
      pollIntervalMs: 100,
      maxRunMs: 20_000,
      taskList: {
        slow: async (_payload, helpers) => {
          started = true;
          helpers.abortSignal.addEventListener("abort", () => {
            aborted = true;
          });
          await sleep(6_000);
          finished = true;
        },
      },
    });
    await until("the job started", () => started);
    await runner.stop();
    assert.ok(finished, "the job ran to its end before the runner stopped");
    assert.equal(aborted, false, "it was not aborted after 5 s");
  } finally {
    await t.drop();
  }
});
