import { test } from "node:test";
import assert from "node:assert/strict";
import { prismaSql, transaction } from "@cb/db";
import { createTestDatabase } from "@cb/db/testing";
import { addJob, startWorker } from "../src/index.ts";

test("a job commits with its transaction, and a queue runs its jobs in order", async () => {
  const t = await createTestDatabase();
  try {
    // Enqueued both ways the system does: in a pg transaction and in a Prisma one.
    await transaction(t.pool, async (client) => {
      await addJob(client, "record", { n: 0 }, { queueName: "q" });
      throw new Error("roll back");
    }).catch(() => {});
    await t.db.$transaction(async (tx) => {
      for (let n = 1; n <= 5; n++) await addJob(prismaSql(tx), "record", { n }, { queueName: "conv-1" });
    });

    const seen: number[] = [];
    let done!: () => void;
    const allDone = new Promise<void>((resolve) => (done = resolve));
    const runner = await startWorker({
      connectionString: t.url,
      concurrency: 4,
      taskList: {
        record: async (payload) => {
          const { n } = payload as { n: number };
          // Later jobs would overtake this one if the queue did not serialize them.
          await new Promise((r) => setTimeout(r, (6 - n) * 20));
          seen.push(n);
          if (seen.length === 5) done();
        },
      },
    });
    await allDone;
    await runner.stop();
    assert.deepEqual(seen, [1, 2, 3, 4, 5], "in order, and the rolled-back job never ran");
  } finally {
    await t.drop();
  }
});
