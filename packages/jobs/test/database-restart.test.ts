import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPool, migrate, startEmbeddedPostgres, type EmbeddedDatabase } from "@cb/db";
import { addJob, keepWorkersAlive, startWorker, type WorkerEvents } from "../src/index.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A server of its own (embedded PostgreSQL), since stopping the shared one would cut off every
// other test file running beside this one.
test("a runner that dies because the database went away while it finished its jobs starts again, and the jobs still run", async () => {
  const root = await mkdtemp(join(tmpdir(), "cb-jobs-restart-"));
  await chmod(root, 0o755); // PostgreSQL runs as its own user when the tests run as root
  const dataDir = join(root, "pg");
  const port = 55_000 + Math.floor(Math.random() * 5_000);
  let database: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir, port });
  await migrate(database.url);
  const pool = createPool(database.url, { max: 2 });

  const runs: string[] = [];
  const held = new Map<string, () => void>();
  const release = (name: string) => held.get(name)!();
  const events: WorkerEvents = new EventEmitter();
  const fatal: unknown[] = [];
  events.on("pool:fatalError", ({ error }) => fatal.push(error));
  const liveness = await keepWorkersAlive({
    connectionString: database.url,
    events,
    intervalMs: 200,
    deadAfterMs: 60_000,
    onError: () => {},
  });
  const runner = await startWorker({
    connectionString: database.url,
    events,
    concurrency: 2,
    pollIntervalMs: 200,
    taskList: {
      // Each job's first run is held until the database is gone, so its outcome cannot be recorded.
      work: async (payload) => {
        const { name } = payload as { name: string };
        runs.push(name);
        if (runs.filter((r) => r === name).length === 1) await new Promise<void>((resolve) => held.set(name, resolve));
      },
    },
  });
  const ranTwice = (name: string) => runs.filter((r) => r === name).length >= 2;
  try {
    await addJob(pool, "work", { name: "a" }, { queueName: "conversation-1" });
    await addJob(pool, "work", { name: "b" }, { queueName: "conversation-2" });
    for (let i = 0; i < 100 && held.size < 2; i++) await sleep(100);
    assert.equal(held.size, 2, "both jobs are running");

    await database.stop();
    // Done, but "Failed to complete jobs": graphile-worker ends its worker pool. A second failed
    // batch leaves its shutdown waiting forever (pool-ends.ts): the runner's promise never settles.
    release("a");
    for (let i = 0; i < 100 && fatal.length === 0; i++) await sleep(100);
    release("b");
    for (let i = 0; i < 100 && fatal.length < 2; i++) await sleep(100);
    assert.equal(fatal.length, 2, "both completions failed, in two batches");
    database = await startEmbeddedPostgres({ dataDir, port });

    // Started again by itself, the orphaned jobs unlocked at once (not after deadAfterMs, a minute here).
    const backAt = Date.now();
    for (let i = 0; i < 200 && !(ranTwice("a") && ranTwice("b")); i++) await sleep(100);
    assert.ok(ranTwice("a") && ranTwice("b"), "the jobs ran again once the database was back");
    assert.ok(runner.restarts >= 1, "the runner was started again");
    assert.ok(Date.now() - backAt < 10_000, "within ten seconds of the database's return");
    for (let i = 0; i < 100; i++) {
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM graphile_worker.jobs").catch(() => ({
        rows: [{ n: -1 }],
      }));
      if (rows[0].n === 0) break;
      await sleep(100);
    }
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM graphile_worker.jobs");
    assert.equal(rows[0].n, 0, "and their completion was recorded");
  } finally {
    // Bounded: a runner whose failed pool is never seen to end would wait here forever.
    await Promise.race([runner.stop().catch(() => {}), sleep(15_000)]);
    await liveness.stop().catch(() => {});
    await pool.end();
    await database.stop();
    await rm(root, { recursive: true, force: true });
  }
});
