import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createModelStore, SENTENCE_ENCODER } from "@cb/nlu";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { startWorkerRole } from "../src/index.ts";
import { sleep } from "./support.ts";

let t: TestDatabase;
let worker: Awaited<ReturnType<typeof startWorkerRole>>;

before(async () => {
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  const accounts = createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} });
  worker = await startWorkerRole({
    databaseUrl: t.url,
    db: t.db,
    pool: t.pool,
    sealer,
    accounts,
    config: { WORKER_CONCURRENCY: 4, NLU_SENTENCE_ENCODER: "on", LOG_LEVEL: "warn" },
  });
});
after(async () => {
  await worker.stop();
  await t.drop();
});

async function until<T>(what: string, check: () => Promise<T | null | undefined>, withinMs = 90_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const found = await check();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
    await sleep(200);
  }
}

test("with NLU_SENTENCE_ENCODER on, the worker's training job caches the vectors and stores a model with the encoder; its report follows", async () => {
  const tenantId = (await t.db.tenant.create({ data: { name: "Acme", language: "en" } })).id;
  await t.db.intent.createMany({
    data: [
      { tenantId, name: "greeting", examples: ["hi", "hello", "good morning"] },
      { tenantId, name: "order.status", examples: ["where is my order", "track my package", "has it shipped"] },
    ],
  });
  const { trainingRevision } = await t.db.tenant.findUniqueOrThrow({ where: { id: tenantId } });
  const fingerprint = `${trainingRevision}:en`;
  await until("the model stored", () => t.db.nluModel.findFirst({ where: { tenantId, fingerprint } }));
  assert.equal(await t.db.sentenceVector.count({ where: { tenantId, encoder: SENTENCE_ENCODER } }), 6);
  assert.equal((await createModelStore(t.db).load(tenantId)).encoder, SENTENCE_ENCODER);
  const report = await until("the model report stored", () =>
    t.db.nluEvaluation.findUnique({ where: { tenantId_fingerprint: { tenantId, fingerprint } } }),
  );
  assert.equal(report.status, "done");
});
