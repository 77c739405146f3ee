import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
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
  await worker.load(tenantId);
  assert.equal((await worker.load(tenantId)).classify("I want a refund").intent === "refund", false);
  await t.db.intent.create({ data: { tenantId, name: "refund", examples: ["I want a refund", "give me my money back", "refund my order"] } });
  const retrained = await worker.load(tenantId);
  assert.equal(retrained.classify("can I get a refund").intent, "refund");
  const versions = await t.db.nluModel.findMany({ where: { tenantId }, orderBy: { version: "asc" }, select: { version: true } });
  assert.deepEqual(versions.map((v) => v.version), [1, 2]);

  await t.db.entityType.create({ data: { tenantId, name: "order_id", kind: "pattern", pattern: "\\d{5}" } });
  assert.deepEqual((await worker.load(tenantId)).entityTypes, [{ name: "order_id", kind: "pattern", pattern: "\\d{5}" }]);

  // The language is training data too (it decides whether word vectors are learnt from).
  await t.db.tenant.update({ where: { id: tenantId }, data: { language: "de" } });
  await worker.load(tenantId);
  const languages = await t.db.nluModel.findMany({ where: { tenantId }, orderBy: { version: "asc" }, select: { version: true } });
  assert.equal(languages.length, 4);
});
