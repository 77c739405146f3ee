import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { addJob } from "@cb/jobs";
import { captureLogs } from "@cb/logging/testing";
import { sweepUntrained, TRAIN_NLU_MODEL, TRAINING_QUEUE_PREFIX, TRAINING_SWEEP } from "@cb/nlu";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { startWorkerRole } from "../src/index.ts";
import { sleep } from "./support.ts";

let t: TestDatabase;
const logs = [captureLogs(), captureLogs()];
const workers: Awaited<ReturnType<typeof startWorkerRole>>[] = [];

before(async () => {
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  const accounts = createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} });
  // Two workers on one database, as a deployment scaled out.
  for (const { logger } of logs)
    workers.push(
      await startWorkerRole({
        databaseUrl: t.url,
        db: t.db,
        pool: t.pool,
        sealer,
        accounts,
        logger,
        config: { WORKER_CONCURRENCY: 4, WORKER_HEARTBEAT_MS: 300, WORKER_DEAD_AFTER_MS: 1000 },
      }),
    );
});
after(async () => {
  for (const w of workers) await w.stop();
  await t.drop();
});

const fingerprint = async (tenantId: string) => {
  const tenant = await t.db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
  return `${tenant.trainingRevision}:${tenant.language}`;
};
const trainingJobs = async (tenantId: string) =>
  Number(
    (
      await t.pool.query(`SELECT count(*) AS n FROM graphile_worker.jobs WHERE queue_name = $1`, [
        TRAINING_QUEUE_PREFIX + tenantId,
      ])
    ).rows[0].n,
  );
async function until(what: string, check: () => Promise<boolean>, withinMs = 60_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
    await sleep(100);
  }
}
const trainedLines = (tenantId: string) =>
  logs.flatMap((l) => l.lines).filter((l) => l.msg === "NLU model trained" && l.tenantId === tenantId);

async function tenantWithIntents(name: string): Promise<string> {
  const id = (await t.db.tenant.create({ data: { name } })).id;
  await t.db.intent.createMany({
    data: [
      { tenantId: id, name: "greeting", examples: ["hi", "hello", "good morning"] },
      { tenantId: id, name: "order.status", examples: ["where is my order", "track my package"] },
    ],
  });
  return id;
}

test("a changed intent has the tenant's model trained and stored without any turn", async () => {
  const tenantId = await tenantWithIntents("Untouched");
  await until("the first version stored", async () =>
    Boolean(await t.db.nluModel.findFirst({ where: { tenantId, fingerprint: await fingerprint(tenantId) } })),
  );
  await t.db.intent.update({
    where: { tenantId_name: { tenantId, name: "greeting" } },
    data: { examples: ["hi", "hello", "good evening"] },
  });
  const changed = await fingerprint(tenantId);
  await until("the changed version stored", async () =>
    Boolean(await t.db.nluModel.findFirst({ where: { tenantId, fingerprint: changed } })),
  );
});

test("one training per version, however many jobs two workers are handed for it", async () => {
  const tenantId = await tenantWithIntents("Twice");
  // Besides the job the trigger queued: two more of the same version, in the tenant's queue.
  for (let i = 0; i < 2; i++)
    await addJob(t.pool, TRAIN_NLU_MODEL, { tenantId }, { queueName: TRAINING_QUEUE_PREFIX + tenantId });
  await until("every training job done", async () => (await trainingJobs(tenantId)) === 0);
  assert.equal(await t.db.nluModel.count({ where: { tenantId, fingerprint: await fingerprint(tenantId) } }), 1);
  assert.equal(trainedLines(tenantId).length, 1);
});

test("a failed training is logged with its tenant, and retried until it is stored", async () => {
  const tenantId = (await t.db.tenant.create({ data: { name: "Refused" } })).id;
  const fn = `refuse_${tenantId.replaceAll("-", "")}`;
  await t.db.$executeRawUnsafe(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused: disk_full' USING ERRCODE = 'disk_full'; END $$`);
  await t.db.$executeRawUnsafe(
    `CREATE TRIGGER ${fn} BEFORE INSERT ON "NluModel" FOR EACH ROW WHEN (NEW."tenantId" = '${tenantId}') EXECUTE FUNCTION ${fn}()`,
  );
  await t.db.intent.createMany({
    data: [
      { tenantId, name: "yes", examples: ["yes", "sure"] },
      { tenantId, name: "no", examples: ["no", "nope"] },
    ],
  });
  await until("the failure logged", async () =>
    logs.some((l) => l.lines.some((line) => line.msg === "NLU training failed" && line.tenantId === tenantId)),
  );
  const failed = logs.flatMap((l) => l.lines).find((l) => l.msg === "NLU training failed" && l.tenantId === tenantId)!;
  assert.match(JSON.stringify(failed.err), /refused: disk_full/);
  await t.db.$executeRawUnsafe(`DROP TRIGGER ${fn} ON "NluModel"`);
  await t.db.$executeRawUnsafe(`DROP FUNCTION ${fn}()`);
  await until("stored by a retry", async () => (await t.db.nluModel.count({ where: { tenantId } })) === 1);
});

test("a tenant whose training data predates the trigger is trained by the sweep, once", async () => {
  // Written with triggers off, as data from before the training trigger was: no job asked for it.
  const client = await t.pool.connect();
  let tenantId: string;
  try {
    await client.query("BEGIN");
    await client.query("SET LOCAL session_replication_role = replica");
    tenantId = (
      await client.query(`INSERT INTO "Tenant" (id, name) VALUES (gen_random_uuid(), 'Old shop') RETURNING id`)
    ).rows[0].id;
    await client.query(
      `INSERT INTO "Intent" (id, "tenantId", name, examples, "updatedAt") VALUES (gen_random_uuid(), $1, 'greeting', ARRAY['hi', 'hello', 'good morning'], now())`,
      [tenantId],
    );
    await client.query("COMMIT");
  } finally {
    client.release();
  }
  assert.equal(await trainingJobs(tenantId), 0);
  const crontabs = await t.pool.query<{ identifier: string }>(
    `SELECT identifier FROM graphile_worker._private_known_crontabs`,
  );
  assert.ok(
    crontabs.rows.some((r) => r.identifier === TRAINING_SWEEP),
    "the worker role schedules the sweep",
  );

  // Models left from before storing one pruned the older ones: an earlier version of another tenant.
  const trained = await t.db.nluModel.findFirstOrThrow({ orderBy: { version: "desc" } });
  await t.pool.query(
    `INSERT INTO "NluModel" (id, "tenantId", version, fingerprint, definition, weights)
     SELECT gen_random_uuid(), "tenantId", version - 100, 'left:en', definition, weights FROM "NluModel" WHERE id = $1`,
    [trained.id],
  );
  await addJob(t.pool, TRAINING_SWEEP, {});
  await until("the sweep deleted the model left behind", async () =>
    (await t.db.nluModel.findMany({ where: { tenantId: trained.tenantId }, select: { id: true } })).every(
      (m) => m.id === trained.id,
    ),
  );
  assert.ok(await t.db.nluModel.findUnique({ where: { id: trained.id } }), "the tenant's model in use is kept");
  const current = await fingerprint(tenantId);
  await until("the sweep's training stored the model", async () =>
    Boolean(await t.db.nluModel.findFirst({ where: { tenantId, fingerprint: current } })),
  );
  // Trained: a sweep asks for nothing more for it.
  await until("its job done", async () => (await trainingJobs(tenantId)) === 0);
  assert.equal(await sweepUntrained(t.pool), 0);
});
