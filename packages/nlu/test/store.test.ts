import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Pool } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs } from "@cb/logging/testing";
import {
  createModelStore,
  createTrainer,
  trainLater,
  trainTenantModel,
  TRAINING_QUEUE_PREFIX,
  type Trainer,
} from "../src/index.ts";

let t: TestDatabase;
let tenantId: string;
const trainer = createTrainer();
const train = (id: string, using: Trainer = trainer) => trainTenantModel(t.db, id, { trainer: using });
const version = async (id: string) => {
  const tenant = await t.db.tenant.findUniqueOrThrow({ where: { id } });
  return { revision: String(tenant.trainingRevision), language: tenant.language };
};

/** A tenant with two intents, its model trained and stored. */
async function trainedTenant(name: string): Promise<string> {
  const id = (await t.db.tenant.create({ data: { name } })).id;
  await t.db.intent.createMany({
    data: [
      { tenantId: id, name: "hours", examples: ["when are you open", "opening hours"] },
      { tenantId: id, name: "bye", examples: ["bye", "see you"] },
    ],
  });
  await train(id);
  return id;
}

before(async () => {
  t = await createTestDatabase();
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  await t.db.intent.createMany({
    data: [
      { tenantId, name: "greeting", examples: ["hi", "hello", "good morning"] },
      { tenantId, name: "order.status", examples: ["where is my order", "track my package", "has it shipped"] },
      { tenantId, name: "thanks", examples: ["thank you", "thanks a lot", "cheers"] },
    ],
  });
});
after(() => t.drop());

test("a tenant's model is trained once by its job, stored, and loaded by every worker", async () => {
  const { logger, lines } = captureLogs();
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer, logger }), "trained");
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.tenantId, tenantId);
  assert.equal(await train(tenantId), "current", "the same version is not trained again");
  assert.equal(await t.db.nluModel.count(), 1);

  const first = createModelStore(t.db);
  const model = await first.load(tenantId);
  assert.equal(model.classify("where's my order").intent, "order.status");
  const second = createModelStore(t.db);
  const loaded = await second.load(tenantId);
  assert.deepEqual(loaded.classify("track my parcel"), model.classify("track my parcel"));
  assert.equal(await first.load(tenantId), model, "unchanged data: the model in memory is reused");
  assert.equal(await t.db.nluModel.count(), 1, "loading never trains");
});

test("turns keep the previous model while the new version trains, then switch to it", async () => {
  await train(tenantId);
  // A tenant too large to train in a turn (a budget of 0): the stored model serves meanwhile.
  const worker = createModelStore(t.db, { recheckMs: 0, quickModelBudget: 0 });
  const previous = await worker.load(tenantId);
  const before = await version(tenantId);
  await t.db.intent.create({
    data: { tenantId, name: "refund", examples: ["I want a refund", "give me my money back", "refund my order"] },
  });
  const after = await version(tenantId);
  assert.notEqual(after.revision, before.revision, "adding an intent moved the training revision");

  // The training thread is held until the turns below have been answered.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const training = train(tenantId, {
    train: async (data, signal) => {
      await held;
      return trainer.train(data, signal)!;
    },
  });
  for (let i = 0; i < 3; i++) {
    const during = await worker.load(tenantId, after);
    assert.equal(during, previous, "the previous model answers while the new one trains");
    assert.notEqual(during.classify("can I get a refund").intent, "refund");
  }
  release();
  assert.equal(await training, "trained");
  const switched = await worker.load(tenantId, after);
  assert.equal(switched.classify("can I get a refund").intent, "refund");
  // The previous version's model served until now; the job that stored the new one deleted it.
  assert.deepEqual(
    (await t.db.nluModel.findMany({ where: { tenantId }, select: { fingerprint: true } })).map((m) => m.fingerprint),
    [`${after.revision}:${after.language}`],
  );
});

test("after many retrainings only the newest model is kept, and turns are answered during each", async () => {
  const id = await trainedTenant("Retrained");
  const worker = createModelStore(t.db, { recheckMs: 0, quickModelBudget: 0 });
  for (let i = 0; i < 5; i++) {
    await t.db.intent.create({ data: { tenantId: id, name: `topic${i}`, examples: [`tell me about topic ${i}`] } });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const training = train(id, {
      train: async (data, signal) => {
        await held;
        return trainer.train(data, signal)!;
      },
    });
    // While the new version trains, the stored model answers: the newest one, and the only one.
    assert.equal((await worker.load(id, await version(id))).classify("bye bye").intent, "bye");
    assert.equal(await t.db.nluModel.count({ where: { tenantId: id } }), 1);
    release();
    assert.equal(await training, "trained");
    const kept = await t.db.nluModel.findMany({ where: { tenantId: id }, select: { version: true } });
    assert.deepEqual(kept, [{ version: i + 2 }], `after retraining ${i + 1}: the new model alone`);
  }
});

test("a model deleted between finding and loading it (a newer one just stored) is looked for again", async () => {
  const id = await trainedTenant("Raced");
  await t.db.intent.create({ data: { tenantId: id, name: "menu", examples: ["show me the menu"] } });
  // The new version's job stores its model, pruning the one found, just before it is read.
  let raced = false;
  const pool = {
    query: async (query: { name?: string }) => {
      if (query.name === "nlu-stored-model" && !raced) {
        raced = true;
        assert.equal(await train(id), "trained");
      }
      return t.pool.query(query as Parameters<Pool["query"]>[0]);
    },
  } as unknown as Pool;
  const model = await createModelStore(t.db, { pool, quickModelBudget: 0 }).load(id);
  assert.ok(raced);
  assert.equal(model.classify("show me the menu").intent, "menu");
});

test("a model stored from data changed since does not push out the current version's model", async () => {
  const id = await trainedTenant("Overtaken");
  await t.db.intent.create({ data: { tenantId: id, name: "menu", examples: ["show me the menu"] } });
  // A training of this version is held while the data changes again and that version is stored.
  let release!: () => void;
  let reading!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const read = new Promise<void>((resolve) => (reading = resolve));
  const stale = train(id, {
    train: async (data, signal) => {
      reading();
      await held;
      return trainer.train(data, signal)!;
    },
  });
  await read;
  await t.db.intent.create({ data: { tenantId: id, name: "prices", examples: ["how much is it"] } });
  assert.equal(await train(id), "trained");
  const current = await version(id);
  release();
  assert.equal(await stale, "trained");
  const kept = await t.db.nluModel.findMany({
    where: { tenantId: id },
    orderBy: { version: "asc" },
    select: { version: true, fingerprint: true },
  });
  assert.equal(kept.length, 2, "the first model is gone");
  assert.equal(kept[0]!.fingerprint, `${current.revision}:${current.language}`, "the current version's stays");
  assert.equal((await createModelStore(t.db).load(id, current)).classify("how much is it").intent, "prices");
});

test("while a version trains, a worker looks for it at most once per recheck interval", async () => {
  const id = await trainedTenant("Rechecked");
  const slow = createModelStore(t.db, { recheckMs: 60_000, quickModelBudget: 0 });
  const quick = createModelStore(t.db, { recheckMs: 0, quickModelBudget: 0 });
  await slow.load(id);
  await quick.load(id);
  await t.db.intent.create({
    data: { tenantId: id, name: "menu", examples: ["show me the menu", "what do you serve"] },
  });
  const now = await version(id);
  await slow.load(id, now);
  await quick.load(id, now);
  await train(id);
  assert.equal((await quick.load(id, now)).classify("what is on the menu").intent, "menu");
  assert.notEqual(
    (await slow.load(id, now)).classify("what is on the menu").intent,
    "menu",
    "looked for a moment ago: not again yet",
  );
});

test("any writer's change moves the model on, plain SQL and the language included; another tenant's does not", async () => {
  const worker = createModelStore(t.db, { recheckMs: 0 });
  // The newest stored version (the older ones are pruned as each is stored).
  const models = async () =>
    (await t.db.nluModel.aggregate({ where: { tenantId }, _max: { version: true } }))._max.version ?? 0;
  await t.db
    .$executeRaw`INSERT INTO "Intent" (id, "tenantId", name, examples, "updatedAt") VALUES (gen_random_uuid(), ${tenantId}::uuid, 'cancel', ARRAY['cancel my order', 'I want to cancel', 'stop my order please'], now())`;
  assert.equal(await train(tenantId), "trained");
  assert.equal((await worker.load(tenantId)).classify("please cancel my order").intent, "cancel");
  const count = await models();

  const other = await t.db.tenant.create({ data: { name: "Other" } });
  await t.db.intent.create({ data: { tenantId: other.id, name: "hours", examples: ["when are you open"] } });
  assert.equal(await train(tenantId), "current", "another tenant's intents are not this tenant's training data");

  await t.db.entityType.create({ data: { tenantId, name: "order_id", kind: "pattern", pattern: "\\d{5}" } });
  assert.equal(await train(tenantId), "trained");
  assert.deepEqual((await worker.load(tenantId)).entityTypes, [
    { name: "order_id", kind: "pattern", pattern: "\\d{5}" },
  ]);
  await t.db.$executeRaw`DELETE FROM "EntityType" WHERE "tenantId" = ${tenantId}::uuid`;
  assert.equal(await train(tenantId), "trained");
  assert.deepEqual((await worker.load(tenantId)).entityTypes, []);
  // The language is training data too (it decides whether word vectors are learnt from).
  await t.db.tenant.update({ where: { id: tenantId }, data: { language: "de" } });
  assert.equal(await train(tenantId), "trained");
  assert.equal(await models(), count + 3);
  await t.db.tenant.update({ where: { id: tenantId }, data: { language: "en" } });
  await train(tenantId);

  // A tenant deleted with its intents: the trigger finds no tenant row left to move, and says nothing.
  await t.db.tenant.delete({ where: { id: other.id } });
  assert.equal(await train(other.id), "gone");
});

test("a brand-new tenant is answered at once: its full model when small, its intents without a classifier when large", async () => {
  const small = (await t.db.tenant.create({ data: { name: "Small" } })).id;
  await t.db.intent.createMany({
    data: [
      { tenantId: small, name: "hello", examples: ["hi", "hello there"], events: ["WELCOME"] },
      { tenantId: small, name: "price", examples: ["how much is it", "what does it cost"] },
    ],
  });
  const store = createModelStore(t.db);
  const quick = await store.load(small);
  assert.equal(quick.classify("how much does it cost").intent, "price");
  assert.equal(
    await t.db.nluModel.count({ where: { tenantId: small } }),
    0,
    "nothing is trained for storage in a turn",
  );
  assert.equal(await store.load(small), quick, "kept until the stored model is there");
  await train(small);
  const stored = await createModelStore(t.db).load(small);
  assert.deepEqual(stored.classify("how much does it cost"), quick.classify("how much does it cost"));

  const large = (await t.db.tenant.create({ data: { name: "Large" } })).id;
  await t.db.intent.createMany({
    data: Array.from({ length: 40 }, (_, i) => ({
      tenantId: large,
      name: `intent${i}`,
      examples: Array.from({ length: 20 }, (_, j) => `topic ${i} question ${j}`),
      ...(i === 0 ? { events: ["WELCOME"] } : {}),
    })),
  });
  const fallbackOnly = await store.load(large);
  assert.equal(fallbackOnly.toJSON().classifier, null);
  assert.equal(fallbackOnly.classify("topic 3 question 4").intent, null);
  assert.equal(fallbackOnly.intents.length, 40, "events and payloads still select intents");
});

test("models in memory are bounded by bytes, least recently used out first, and loaded again from PostgreSQL", async () => {
  const tenants: string[] = [];
  for (const name of ["A", "B", "C"]) {
    const id = (await t.db.tenant.create({ data: { name } })).id;
    await t.db.intent.createMany({
      data: [
        { tenantId: id, name: "yes", examples: ["yes", "sure", "of course"] },
        { tenantId: id, name: "no", examples: ["no", "nope", "not at all"] },
      ],
    });
    await train(id);
    tenants.push(id);
  }
  const [a, b, c] = tenants as [string, string, string];
  const bytes = async (id: string) =>
    Number(
      (
        await t.pool.query(
          `SELECT 2 * octet_length(definition::text) + octet_length(weights) AS n FROM "NluModel" WHERE "tenantId" = $1`,
          [id],
        )
      ).rows[0].n,
    );
  const two = (await bytes(a)) + (await bytes(b));

  // Room for exactly two: the third evicts the least recently used (b, as a was used since).
  const store = createModelStore(t.db, { maxBytes: two });
  const modelA = await store.load(a);
  const modelB = await store.load(b);
  assert.equal(await store.load(a), modelA);
  assert.equal(await store.load(b), modelB);
  assert.equal(await store.load(a), modelA);
  await store.load(c);
  assert.equal(await store.load(a), modelA, "recently used: kept");
  const reloaded = await store.load(b);
  assert.notEqual(reloaded, modelB, "evicted: loaded again");
  assert.deepEqual(reloaded.classify("nope"), modelB.classify("nope"));
  assert.equal(store.bytes(), two, "a and b held: the bound, to the byte");

  // One byte less and two models no longer fit.
  const tight = createModelStore(t.db, { maxBytes: two - 1 });
  const first = await tight.load(a);
  await tight.load(b);
  assert.notEqual(await tight.load(a), first);
});

test("a trained model the database refuses fails the job, to be retried; nothing is stored", async () => {
  const id = (await t.db.tenant.create({ data: { name: "Refused" } })).id;
  await t.db.intent.createMany({
    data: [
      { tenantId: id, name: "greeting", examples: ["hi", "hello"] },
      { tenantId: id, name: "bye", examples: ["bye", "see you"] },
    ],
  });
  const fn = `refuse_${id.replaceAll("-", "")}`;
  await t.db.$executeRawUnsafe(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused: disk_full' USING ERRCODE = 'disk_full'; END $$`);
  await t.db.$executeRawUnsafe(
    `CREATE TRIGGER ${fn} BEFORE INSERT ON "NluModel" FOR EACH ROW WHEN (NEW."tenantId" = '${id}') EXECUTE FUNCTION ${fn}()`,
  );
  try {
    await assert.rejects(train(id), /refused: disk_full/);
    assert.equal(await t.db.nluModel.count({ where: { tenantId: id } }), 0);
  } finally {
    await t.db.$executeRawUnsafe(`DROP TRIGGER ${fn} ON "NluModel"`);
    await t.db.$executeRawUnsafe(`DROP FUNCTION ${fn}()`);
  }
  assert.equal(await train(id), "trained", "the retry stores it");
});

test("a training past its time limit ends its thread and fails", async () => {
  const signal = AbortSignal.timeout(1);
  await assert.rejects(
    trainer.train(
      {
        language: "en",
        entityTypes: [],
        intents: Array.from({ length: 60 }, (_, i) => ({
          name: `i${i}`,
          examples: Array.from({ length: 20 }, (_, j) => `words ${i} and ${j}`),
        })),
      },
      signal,
    )!,
    { name: "TimeoutError" },
  );
});

test("a trainer whose threads are all busy refuses a training at once, rather than queue it", async () => {
  const large = {
    language: "en",
    entityTypes: [],
    intents: Array.from({ length: 30 }, (_, i) => ({
      name: `i${i}`,
      examples: Array.from({ length: 20 }, (_, j) => `words ${i} and ${j}`),
    })),
  };
  const small = { language: "en", entityTypes: [], intents: [{ name: "a", examples: ["hi"] }] };
  const one = createTrainer({ concurrency: 1 });
  const running = one.train(large);
  assert.ok(running);
  assert.equal(one.train(small), null, "its one thread is taken");
  await running;
  assert.ok(await one.train(small), "free again once the training is done");
  const aborted = AbortSignal.abort(new Error("stopped"));
  await assert.rejects(one.train(small, aborted)!, /stopped/);
  assert.ok(await one.train(small), "a training refused by its signal gives its thread back");

  // The job of a tenant refused so is reported busy, and nothing is stored.
  const id = (await t.db.tenant.create({ data: { name: "Waiting" } })).id;
  await t.db.intent.create({ data: { tenantId: id, name: "hours", examples: ["when are you open"] } });
  const taken = one.train(large)!;
  assert.equal(await train(id, one), "busy");
  assert.equal(await t.db.nluModel.count({ where: { tenantId: id } }), 0);
  await taken;
  assert.equal(await train(id, one), "trained");
});

test("a training job refused as busy comes back later as a new job; one the trigger queued meanwhile keeps its time", async () => {
  const id = (await t.db.tenant.create({ data: { name: "Later" } })).id;
  await t.db.intent.create({ data: { tenantId: id, name: "hours", examples: ["when are you open"] } });
  const jobs = async () =>
    (
      await t.pool.query<{ runAt: Date; key: string | null; attempts: number; locked: boolean }>(
        `SELECT j.run_at AS "runAt", j.key, j.attempts, j.locked_at IS NOT NULL AS locked
         FROM graphile_worker._private_jobs j JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id
         WHERE q.queue_name = $1 ORDER BY j.id`,
        [TRAINING_QUEUE_PREFIX + id],
      )
    ).rows;
  const [queued] = await jobs();
  assert.ok(queued, "the trigger queued a job");
  // Waiting to run: a refused job's coming back leaves it at its own, earlier, time.
  await trainLater(t.pool, id, 60_000);
  assert.deepEqual(await jobs(), [queued]);
  // Running (the job refused holds it): a new job, 60–120 s later, no attempt spent.
  await t.pool.query(`UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = 'test' WHERE key = $1`, [
    TRAINING_QUEUE_PREFIX + id,
  ]);
  const asked = Date.now();
  await trainLater(t.pool, id, 60_000);
  const [running, later] = await jobs();
  assert.equal(running!.key, null, "the running job gave its key up");
  assert.equal(later!.key, TRAINING_QUEUE_PREFIX + id);
  assert.equal(later!.attempts, 0);
  assert.ok(later!.runAt.getTime() >= asked + 59_000 && later!.runAt.getTime() <= Date.now() + 120_000);
});

test("an intent of Dialogflow's Ignore priority is left out; events, resetContexts and priorities reach the model", async () => {
  const other = (await t.db.tenant.create({ data: { name: "Initech" } })).id;
  await t.db.intent.createMany({
    data: [
      { tenantId: other, name: "hello", examples: ["hi", "hello"], events: ["WELCOME"], resetContexts: true },
      { tenantId: other, name: "bye", examples: ["bye", "goodbye"], priority: 250000 },
      { tenantId: other, name: "ignored", examples: ["ignore me", "never matched"], priority: -1 },
    ],
  });
  await train(other);
  const model = await createModelStore(t.db).load(other);
  assert.deepEqual(
    model.intents.map((i) => [i.name, i.events, i.resetContexts, i.priority]),
    [
      ["bye", [], false, 250000],
      ["hello", ["WELCOME"], true, 500000],
    ],
  );
});

test("a small tenant's change is answered at once, by a model of its data trained in the turn", async () => {
  const id = await trainedTenant("Small shop");
  const worker = createModelStore(t.db, { recheckMs: 0 });
  await worker.load(id);
  await t.db.intent.create({
    data: { tenantId: id, name: "menu", examples: ["show me the menu", "what do you serve"] },
  });
  // Its job has not run: the stored model is the older version's, yet the new intent is matched.
  const model = await worker.load(id, await version(id));
  assert.equal(model.classify("show me the menu").intent, "menu");
  assert.equal(await t.db.nluModel.count({ where: { tenantId: id } }), 1, "nothing stored by the turn");
});
