import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs, LEVEL } from "@cb/logging/testing";
import { createModelStore } from "../src/index.ts";

let t: TestDatabase;
let tenantId: string;

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

test("a tenant's model is trained once, persisted, and shared by every worker", async () => {
  const first = createModelStore(t.db);
  const model = await first.load(tenantId);
  assert.equal(model.classify("where's my order").intent, "order.status");
  assert.equal(await t.db.nluModel.count(), 1);

  // Another worker process: loads the stored version instead of training again.
  const second = createModelStore(t.db);
  const loaded = await second.load(tenantId);
  assert.deepEqual(loaded.classify("track my parcel"), model.classify("track my parcel"));
  assert.equal(await t.db.nluModel.count(), 1);
  assert.equal(await first.load(tenantId), model, "unchanged data: the cached model is reused");
});

test("changing the training data makes every worker retrain into a new version", async () => {
  const worker = createModelStore(t.db);
  const version = async () => {
    const tenant = await t.db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    return { revision: String(tenant.trainingRevision), language: tenant.language };
  };
  const before = await version();
  await worker.load(tenantId);
  await t.db.intent.create({
    data: { tenantId, name: "refund", examples: ["I want a refund", "give me my money back", "refund my order"] },
  });
  const after = await version();
  assert.notEqual(after.revision, before.revision, "adding an intent moved the training revision");
  // The model is the revision's: the one before the change cannot match the new intent, the new one does.
  assert.notEqual((await worker.load(tenantId, before)).classify("can I get a refund").intent, "refund");
  assert.equal((await worker.load(tenantId, after)).classify("can I get a refund").intent, "refund");
  const retrained = await worker.load(tenantId);
  assert.equal(retrained.classify("can I get a refund").intent, "refund");
  const versions = await t.db.nluModel.findMany({
    where: { tenantId },
    orderBy: { version: "asc" },
    select: { version: true },
  });
  assert.deepEqual(
    versions.map((v) => v.version),
    [1, 2],
  );

  await t.db.entityType.create({ data: { tenantId, name: "order_id", kind: "pattern", pattern: "\\d{5}" } });
  assert.deepEqual((await worker.load(tenantId)).entityTypes, [
    { name: "order_id", kind: "pattern", pattern: "\\d{5}" },
  ]);

  // The language is training data too (it decides whether word vectors are learnt from).
  await t.db.tenant.update({ where: { id: tenantId }, data: { language: "de" } });
  await worker.load(tenantId);
  const languages = await t.db.nluModel.findMany({
    where: { tenantId },
    orderBy: { version: "asc" },
    select: { version: true },
  });
  assert.equal(languages.length, 4);
});

test("any writer's change moves the model on, plain SQL included; another tenant's does not", async () => {
  const worker = createModelStore(t.db);
  const models = () => t.db.nluModel.count({ where: { tenantId } });
  await t.db
    .$executeRaw`INSERT INTO "Intent" (id, "tenantId", name, examples, "updatedAt") VALUES (gen_random_uuid(), ${tenantId}::uuid, 'cancel', ARRAY['cancel my order', 'I want to cancel', 'stop my order please'], now())`;
  assert.equal((await worker.load(tenantId)).classify("please cancel my order").intent, "cancel");
  const before = await models();

  const other = await t.db.tenant.create({ data: { name: "Other" } });
  await t.db.intent.create({ data: { tenantId: other.id, name: "hours", examples: ["when are you open"] } });
  await worker.load(tenantId);
  assert.equal(await models(), before, "another tenant's intents are not this tenant's training data");

  await t.db
    .$executeRaw`UPDATE "Intent" SET examples = ARRAY['change my address', 'new delivery address', 'ship it somewhere else'] WHERE "tenantId" = ${tenantId}::uuid AND name = 'cancel'`;
  assert.equal((await worker.load(tenantId)).classify("I need a new delivery address").intent, "cancel");
  await t.db.$executeRaw`DELETE FROM "Intent" WHERE "tenantId" = ${tenantId}::uuid AND name = 'cancel'`;
  assert.notEqual((await worker.load(tenantId)).classify("I need a new delivery address").intent, "cancel");
  await t.db.$executeRaw`DELETE FROM "EntityType" WHERE "tenantId" = ${tenantId}::uuid`;
  assert.deepEqual((await worker.load(tenantId)).entityTypes, []);
  assert.equal(await models(), before + 3);

  // A tenant deleted with its intents: the trigger finds no tenant row left to move, and says nothing.
  await t.db.tenant.delete({ where: { id: other.id } });
});

test("a training version read along with the message gives the same model as the store's own read", async () => {
  const worker = createModelStore(t.db);
  const version = async () => {
    const tenant = await t.db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    return { revision: String(tenant.trainingRevision), language: tenant.language };
  };
  const model = await worker.load(tenantId);
  assert.equal(await worker.load(tenantId, await version()), model);
  await t.db.intent.create({
    data: { tenantId, name: "gift", examples: ["is this a gift", "wrap it as a present", "gift wrapping please"] },
  });
  const given = await worker.load(tenantId, await version());
  assert.notEqual(given, model);
  assert.equal(given.classify("can you gift wrap it").intent, "gift");
  assert.equal(await worker.load(tenantId), given);
});

/** A tenant whose model inserts the database refuses with `error` (a PL/pgSQL condition name). */
async function refusedTenant(name: string, error: string): Promise<{ tenantId: string; restore(): Promise<void> }> {
  const id = (await t.db.tenant.create({ data: { name } })).id;
  await t.db.intent.createMany({
    data: [
      { tenantId: id, name: "greeting", examples: ["hi", "hello"] },
      { tenantId: id, name: "bye", examples: ["bye", "see you"] },
    ],
  });
  const fn = `refuse_${id.replaceAll("-", "")}`;
  await t.db.$executeRawUnsafe(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused: ${error}' USING ERRCODE = '${error}'; END $$`);
  await t.db.$executeRawUnsafe(
    `CREATE TRIGGER ${fn} BEFORE INSERT ON "NluModel" FOR EACH ROW WHEN (NEW."tenantId" = '${id}') EXECUTE FUNCTION ${fn}()`,
  );
  return {
    tenantId: id,
    async restore() {
      await t.db.$executeRawUnsafe(`DROP TRIGGER ${fn} ON "NluModel"`);
      await t.db.$executeRawUnsafe(`DROP FUNCTION ${fn}()`);
    },
  };
}

test("a trained model that cannot be stored is still used, and the failure is logged with its tenant", async () => {
  // As a full disk or a lost connection would.
  const refused = await refusedTenant("Unstored", "disk_full");
  try {
    const { logger, lines } = captureLogs();
    const model = await createModelStore(t.db, { logger }).load(refused.tenantId);
    assert.equal(model.classify("hello there").intent, "greeting");
    assert.equal(await t.db.nluModel.count({ where: { tenantId: refused.tenantId } }), 0);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, LEVEL.error);
    assert.equal(lines[0]!.tenantId, refused.tenantId);
    assert.match(JSON.stringify(lines[0]!.err), /refused: disk_full/);
  } finally {
    await refused.restore();
  }
});

test("the same version stored first by another worker is no failure: nothing is logged", async () => {
  // What the unique (tenant, version) key answers the slower of two workers.
  const refused = await refusedTenant("Raced", "unique_violation");
  try {
    const { logger, lines } = captureLogs();
    const model = await createModelStore(t.db, { logger }).load(refused.tenantId);
    assert.equal(model.classify("see you later").intent, "bye");
    assert.deepEqual(lines, []);
  } finally {
    await refused.restore();
  }
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
  const model = await createModelStore(t.db).load(other);
  assert.deepEqual(
    model.intents.map((i) => [i.name, i.events, i.resetContexts, i.priority]),
    [
      ["bye", [], false, 250000],
      ["hello", ["WELCOME"], true, 500000],
    ],
  );
});
