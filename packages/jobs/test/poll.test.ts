import { test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase } from "@cb/db/testing";
import { addJob, startWorker } from "../src/index.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a queue's next job starts soon after the one before it ends, with no new job to wake the worker", async () => {
  const t = await createTestDatabase();
  try {
    // The second waits for the first's queue; when that unlocks, nothing notifies: only the poll finds it.
    await addJob(t.pool, "step", { name: "first" }, { queueName: "conversation:poll" });
    await addJob(t.pool, "step", { name: "second" }, { queueName: "conversation:poll" });
    const at: Record<string, { start: number; end: number }> = {};
    const runner = await startWorker({
      connectionString: t.url,
      taskList: {
        step: async (payload) => {
          const { name } = payload as { name: string };
          const start = Date.now();
          if (name === "first") await sleep(300);
          at[name] = { start, end: Date.now() };
        },
      },
    });
    try {
      for (let i = 0; i < 200 && !at.second; i++) await sleep(25);
      assert.ok(at.second, "the second job ran");
      const gap = at.second.start - at.first!.end;
      // graphile-worker's own default (2 s) left it waiting 1.7 s here.
      assert.ok(gap < 1_000, `the second started ${gap} ms after the first ended`);
    } finally {
      await runner.stop();
    }
  } finally {
    await t.drop();
  }
});
