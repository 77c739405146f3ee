import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { transaction } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { addJob, collectEmptyQueues } from "../src/index.ts";

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(() => t.drop());

const queues = async () =>
  (
    await t.pool.query<{ queue_name: string }>(
      `SELECT queue_name FROM graphile_worker._private_job_queues ORDER BY queue_name`,
    )
  ).rows.map((r) => r.queue_name);
const stranded = async () =>
  Number(
    (
      await t.pool.query(
        `SELECT count(*) FROM graphile_worker._private_jobs j WHERE j.job_queue_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM graphile_worker._private_job_queues q WHERE q.id = j.job_queue_id)`,
      )
    ).rows[0].count,
  );

test("empty per-entity queues are collected; queues with jobs, locked ones and others are kept", async () => {
  for (const name of ["conversation:done", "conversation:waiting", "conversation:running", "inbound", "subject:done"])
    await addJob(t.pool, "task", {}, { queueName: name });
  // Jobs that finished leave their queue behind; one is running (its queue locked by a worker).
  await t.pool.query(
    `DELETE FROM graphile_worker._private_jobs j USING graphile_worker._private_job_queues q WHERE q.id = j.job_queue_id AND q.queue_name IN ('conversation:done', 'conversation:running', 'inbound', 'subject:done')`,
  );
  await t.pool.query(
    `UPDATE graphile_worker._private_job_queues SET locked_at = now(), locked_by = 'w1' WHERE queue_name = 'conversation:running'`,
  );

  assert.equal(await collectEmptyQueues(t.pool, ["conversation:", "subject:"]), 2);
  assert.deepEqual(await queues(), ["conversation:running", "conversation:waiting", "inbound"]);
});

test("collection waits for an enqueue under way, so no job is left in a deleted queue", async () => {
  await addJob(t.pool, "task", {}, { queueName: "conversation:busy" });
  await t.pool.query(`DELETE FROM graphile_worker._private_jobs`);
  assert.ok((await queues()).includes("conversation:busy"), "empty, not yet collected");

  let collected: Promise<number> | undefined;
  await transaction(t.pool, async (sql) => {
    // The queue row exists, so add_job uses it; collection must not delete it before this commits.
    await addJob(sql, "task", { n: 1 }, { queueName: "conversation:busy" });
    collected = collectEmptyQueues(t.pool, ["conversation:"]);
    const early = await Promise.race([
      collected.then(() => "collected"),
      new Promise((resolve) => setTimeout(resolve, 200, "waiting")),
    ]);
    assert.equal(early, "waiting");
  });
  await collected;
  assert.ok((await queues()).includes("conversation:busy"), "kept: it holds the job");
  assert.equal(await stranded(), 0);

  // Once collected, the next job into that queue name gets a new queue row.
  await t.pool.query(`DELETE FROM graphile_worker._private_jobs`);
  assert.equal(await collectEmptyQueues(t.pool, ["conversation:"]), 1);
  await addJob(t.pool, "task", {}, { queueName: "conversation:busy" });
  assert.equal(await stranded(), 0);
  assert.ok((await queues()).includes("conversation:busy"));
});
