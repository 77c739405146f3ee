import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { startWorker, type JobRunner } from "@cb/jobs";
import { captureLogs } from "@cb/logging/testing";
import { createTrainer, TRAIN_NLU_MODEL } from "@cb/nlu";
import { createTrainingTasks } from "../src/index.ts";
import { sleep } from "./support.ts";

const TENANTS = 12;
// Longer than one small tenant's training (a thread and its word vectors: 0.2–0.3 s here),
// far shorter than twelve of them one after another.
const MAX_RUN_MS = 2_000;

let t: TestDatabase;
let runner: JobRunner | undefined;
const { logger, lines } = captureLogs();

before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await runner?.stop();
  await t.drop();
});

test("many tenants' trainings fetched by one worker at once: none fails for waiting on the time limit", async () => {
  const tenants: string[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const tenantId = (await t.db.tenant.create({ data: { name: `Shop ${i}` } })).id;
    await t.db.intent.createMany({
      data: [
        { tenantId, name: "greeting", examples: ["hi", "hello", "good morning"] },
        { tenantId, name: "order.status", examples: ["where is my order", "track my package"] },
      ],
    });
    tenants.push(tenantId);
  }
  const queued = await t.pool.query(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = $1`, [
    TRAIN_NLU_MODEL,
  ]);
  assert.equal(queued.rows[0].n, TENANTS, "the trigger queued a training job per tenant");

  // One worker, one training thread, a batch of jobs per fetch and a short time limit.
  runner = await startWorker({
    connectionString: t.url,
    taskList: createTrainingTasks({
      db: t.db,
      pool: t.pool,
      trainer: createTrainer({ concurrency: 1 }),
      logger,
      busyRetryMs: 200,
    }),
    concurrency: 20,
    maxRunMs: MAX_RUN_MS,
    pollIntervalMs: 200,
    logger,
  });
  const deadline = Date.now() + 120_000;
  while ((await t.db.nluModel.count()) < TENANTS) {
    assert.ok(Date.now() < deadline, "every tenant's model stored within two minutes");
    await sleep(200);
  }
  assert.deepEqual(
    lines.filter((l) => l.msg === "NLU training failed"),
    [],
    "no training failed",
  );
  const failed = await t.pool.query(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE last_error IS NOT NULL`);
  assert.equal(failed.rows[0].n, 0, "no job failed");
  assert.equal(new Set(lines.filter((l) => l.msg === "NLU model trained").map((l) => l.tenantId)).size, TENANTS);
});
