import { test } from "node:test";
import assert from "node:assert/strict";
import { createPool } from "@cb/db";
import { createTestDatabase } from "@cb/db/testing";
import { addJob, startWorker } from "../src/index.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("jobs in flight get the pool's connections in the jobs' order (priority, then due time), whenever they ask", async () => {
  const t = await createTestDatabase();
  const pool = createPool(t.url, { max: 1 });
  try {
    const ago = (ms: number) => new Date(Date.now() - ms);
    await addJob(t.pool, "query", { name: "late", askAfterMs: 0 }, { runAt: ago(1_000) });
    await addJob(t.pool, "query", { name: "early", askAfterMs: 0 }, { runAt: ago(2_000) });
    // The most urgent job asks last.
    await addJob(t.pool, "query", { name: "under way", askAfterMs: 150 }, { runAt: ago(500), priority: -1 });
    const held = await pool.connect();
    let asked = 0;
    const order: string[] = [];
    const runner = await startWorker({
      connectionString: t.url,
      concurrency: 5,
      pollIntervalMs: 100,
      taskList: {
        query: async (payload) => {
          const { name, askAfterMs } = payload as { name: string; askAfterMs: number };
          await sleep(askAfterMs);
          asked++;
          await pool.query("SELECT 1");
          order.push(name);
        },
      },
    });
    try {
      for (let i = 0; i < 200 && asked < 3; i++) await sleep(25);
      assert.equal(asked, 3, "all three in flight, waiting for the one connection");
      held.release();
      for (let i = 0; i < 200 && order.length < 3; i++) await sleep(25);
      assert.deepEqual(order, ["under way", "early", "late"]);
    } finally {
      await runner.stop();
    }
  } finally {
    await pool.end();
    await t.drop();
  }
});
