import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs } from "@cb/logging/testing";
import { createSentenceEncoder, createTrainer, trainTenantModel } from "@cb/nlu";
import { nluSentenceEncoder } from "@cb/observability";
import { createUnderstand, type TenantInfo } from "../src/index.ts";
import { inbound as message, startLocalServer } from "./support.ts";

// The real Universal Sentence Encoder lite, in its thread, as a worker runs it.
const encoder = createSentenceEncoder();
let t: TestDatabase;
let tenant: TenantInfo;
// A local OpenAI-compatible server that counts what it is asked (hybrid mode).
let llm: Awaited<ReturnType<typeof startLocalServer>>;
let llmUrl: string;
let llmAsked = 0;

// No word of it in order.status's examples: the n-gram model alone gives the fallback.
const PARAPHRASE = "my parcel still hasn't arrived";

before(async () => {
  t = await createTestDatabase();
  const row = await t.db.tenant.create({ data: { name: "Acme", language: "en" } });
  tenant = { id: row.id, language: "en", timezone: "UTC" };
  await t.db.intent.createMany({
    data: [
      { tenantId: row.id, name: "greeting", examples: ["hi", "hello", "good morning", "hey there"] },
      {
        tenantId: row.id,
        name: "order.status",
        examples: ["where is my order", "track my package", "has my order shipped", "status of order 12345"],
      },
      { tenantId: row.id, name: "thanks", examples: ["thank you", "thanks a lot", "much appreciated", "cheers"] },
      { tenantId: row.id, name: "fallback", examples: [], isFallback: true },
    ],
  });
  assert.equal(await trainTenantModel(t.db, row.id, { trainer: createTrainer(), encoder }), "trained");
  llm = await startLocalServer((req, res) => {
    llmAsked++;
    req.resume();
    req.on("end", () => res.writeHead(500).end());
  });
  llmUrl = `${llm.origin}/v1`;
});
after(async () => {
  await encoder.close();
  await llm.close();
  await t.drop();
});

const counted = async (outcome: "used" | "skipped" | "failed") =>
  (await nluSentenceEncoder.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

test("a turn of an encoder model is classified with the message's vector", async () => {
  const understand = createUnderstand(t.db, { pool: t.pool, encoder });
  const offline = createUnderstand(t.db, { pool: t.pool });
  const used = await counted("used");
  assert.equal(
    (await understand({ tenant, message: message({ text: PARAPHRASE }), state: {} })).intent,
    "order.status",
  );
  assert.equal(await counted("used"), used + 1);
  assert.equal(
    (await offline({ tenant, message: message({ text: PARAPHRASE }), state: {} })).intent,
    "fallback",
    "without the encoder, the n-grams alone miss it",
  );
});

test("a message the n-gram model is sure of is answered without asking the encoder (counted as skipped)", async () => {
  const understand = createUnderstand(t.db, { pool: t.pool, encoder });
  const [embedded, skipped, used] = [encoder.stats().embedded, await counted("skipped"), await counted("used")];
  assert.equal(
    (await understand({ tenant, message: message({ text: "where is my order" }), state: {} })).intent,
    "order.status",
  );
  assert.equal(encoder.stats().embedded, embedded, "nothing embedded");
  assert.equal(await counted("skipped"), skipped + 1);
  assert.equal(await counted("used"), used);
  // The unsure one is embedded.
  await understand({ tenant, message: message({ text: PARAPHRASE }), state: {} });
  assert.equal(encoder.stats().embedded, embedded + 1);
  assert.equal(await counted("used"), used + 1);
});

test("hybrid: the vector makes the model sure, so the LLM is not asked", async () => {
  const understand = createUnderstand(t.db, { pool: t.pool, encoder, llm: { baseURL: llmUrl, apiKey: "sk-test" } });
  const hybrid = { ...tenant, nluSettings: { mode: "hybrid" as const, model: "m1" } };
  const asked = llmAsked;
  assert.equal(
    (await understand({ tenant: hybrid, message: message({ text: PARAPHRASE }), state: {} })).intent,
    "order.status",
  );
  assert.equal(llmAsked, asked);
});

test("texts without letters and button payloads are not embedded", async () => {
  const understand = createUnderstand(t.db, { pool: t.pool, encoder });
  const embedded = encoder.stats().embedded;
  await understand({ tenant, message: message({ text: "12345 👍" }), state: {} });
  await understand({ tenant, message: message({ postback: { payload: "greeting" } }), state: {} });
  assert.equal(encoder.stats().embedded, embedded);
});

test("an encoder failure falls back to the n-gram model: the turn is answered, the failure logged and counted", async () => {
  const { logger, lines } = captureLogs();
  // A fresh encoder given 1 ms: its thread has not even loaded the model.
  const late = createSentenceEncoder({ logger, turnTimeoutMs: 1 });
  try {
    const understand = createUnderstand(t.db, { pool: t.pool, encoder: late, logger });
    const [failed, skipped] = [await counted("failed"), await counted("skipped")];
    const hello = await understand({ tenant, message: message({ text: "hello there" }), state: {} });
    assert.equal(hello.intent, "greeting", "the n-grams answer what they are sure of, without the encoder");
    assert.equal(await counted("skipped"), skipped + 1);
    assert.equal((await understand({ tenant, message: message({ text: PARAPHRASE }), state: {} })).intent, "fallback");
    assert.equal(await counted("failed"), failed + 1);
    assert.ok(lines.some((l) => l.level === 40 && /n-gram model alone/.test(String(l.msg))));
  } finally {
    await late.close();
  }
});
