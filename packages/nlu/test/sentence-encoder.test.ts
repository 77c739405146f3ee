import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs } from "@cb/logging/testing";
import {
  createModelStore,
  createSentenceEncoder,
  createTrainer,
  crossValidate,
  evaluateTenant,
  evaluationOf,
  trainModel,
  trainTenantModel,
  understand,
  type IntentDefinition,
  type SentenceEncoder,
} from "../src/index.ts";
import type { EncoderLoad } from "../src/sentence-encoder-thread.ts";
import { join } from "../src/stored-model.ts";
import { WARM_UP } from "../src/use-lite.ts";

// The real Universal Sentence Encoder lite, one thread for the whole file (as one per worker).
const encoder = createSentenceEncoder();
const trainer = createTrainer();
let t: TestDatabase;

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
const intents: IntentDefinition[] = [
  { name: "greeting", examples: ["hi", "hello", "good morning", "hey there"] },
  {
    name: "order.status",
    examples: ["where is my order", "track my package", "has my order shipped", "status of order 12345"],
  },
  { name: "support.ticket", examples: ["I need to talk to a human", "open a support ticket", "talk to support"] },
  { name: "thanks", examples: ["thank you", "thanks a lot", "much appreciated", "cheers"] },
];
// No word of it in order.status's examples: the n-gram model has nothing to go on.
const PARAPHRASE = "my parcel still hasn't arrived";

async function tenantWith(name: string, defs: IntentDefinition[]): Promise<string> {
  const id = (await t.db.tenant.create({ data: { name, language: "en" } })).id;
  await t.db.intent.createMany({ data: defs.map((i) => ({ tenantId: id, name: i.name, examples: i.examples })) });
  return id;
}
const cachedRows = (tenantId: string) => t.db.sentenceVector.count({ where: { tenantId } });

before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await encoder.close();
  await t.drop();
});

test("the encoder: unit-length 512-dimension vectors in order, paraphrases near each other", async () => {
  // "training": no turn's 2 s deadline on the thread's start and the model's load (a loaded machine).
  const [a, b, c] = await encoder.embed(
    ["where is my order", "my parcel still hasn't arrived", "good morning"],
    "training",
  );
  assert.equal(a!.length, 512);
  assert.ok(Math.abs(Math.hypot(...a!) - 1) < 1e-3);
  assert.ok(cosine(a!, b!) > cosine(a!, c!) + 0.2, "the paraphrase is nearer than an unrelated text");
  assert.deepEqual(await encoder.embed([]), []);
});

test("the thread warms up once, when it loads the model, before the first request's answer", async () => {
  const { logger, lines } = captureLogs();
  const fresh = createSentenceEncoder({ logger });
  try {
    await fresh.embed(["load"], "training");
    await fresh.embed(["where is my order"], "turn");
    const loads = lines.filter((l) => l.msg === "sentence encoder loaded and warmed up");
    assert.equal(loads.length, 1, "one load, one warm-up");
    const { loadMs, warmUp } = loads[0] as unknown as EncoderLoad;
    assert.ok(loadMs > 0);
    assert.equal(warmUp.texts, WARM_UP.length);
    assert.ok(warmUp.ms > 0);
    assert.ok(
      WARM_UP.some((text) => text.split(" ").length > 128),
      "one past the clip: the session's largest buffers allocated",
    );
  } finally {
    await fresh.close();
  }
});

test("a turn goes before the training batches queued ahead of it", async () => {
  const small = createSentenceEncoder({ batchSize: 8 });
  try {
    await small.embed(["warm up"], "training");
    const done: string[] = [];
    const texts = Array.from({ length: 160 }, (_, i) => `training sentence number ${i} about an order`);
    const training = small.embed(texts, "training").then((v) => {
      done.push("training");
      return v;
    });
    const turn = small.embed(["where is my order"], "turn").then(() => done.push("turn"));
    const [vectors] = await Promise.all([training, turn]);
    assert.equal(vectors.length, 160);
    assert.deepEqual(done, ["turn", "training"], "20 batches were queued; the turn waited for one at most");
  } finally {
    await small.close();
  }
});

test("a training's texts go in batches of like length, shortest first, and come back in its own order", async () => {
  const fake = createSentenceEncoder({ batchSize: 4, thread: new URL("./length-encoder-thread.ts", import.meta.url) });
  try {
    // Lengths 1 to 40, shuffled (17 and 40 have no common factor).
    const texts = Array.from({ length: 40 }, (_, i) => "x".repeat(1 + ((i * 17) % 40)));
    const vectors = await fake.embed(texts, "training");
    assert.deepEqual(
      vectors.map((v) => v[0]),
      texts.map((text) => text.length),
      "each text's own vector, in the order asked",
    );
    const batchOf = (length: number) => vectors[texts.findIndex((text) => text.length === length)]![1]!;
    for (let length = 2; length <= 40; length++)
      assert.ok(batchOf(length) >= batchOf(length - 1), `a text of ${length} characters batched after shorter ones`);
    assert.equal(batchOf(40) - batchOf(1), 9, "ten batches of four");
  } finally {
    await fake.close();
  }
});

test("a thread that dies is logged and replaced; a stuck one is ended; a turn's own deadline leaves the thread", async () => {
  const { logger, lines } = captureLogs();
  const dying = createSentenceEncoder({ logger, thread: new URL("./exiting-encoder-thread.ts", import.meta.url) });
  try {
    await assert.rejects(dying.embed(["exit now"], "training"), /exited \(code 3\)/);
    assert.ok(
      lines.some((l) => l.level === 50 && /thread exited/.test(String(l.msg))),
      "the death is logged",
    );
    const [v] = await dying.embed(["hello"], "training");
    assert.equal(v!.length, 512);
    assert.equal(dying.stats().threads, 2, "a new thread served the next request");
  } finally {
    await dying.close();
  }
  const stuck = createSentenceEncoder({ logger, requestTimeoutMs: 1 });
  try {
    await assert.rejects(stuck.embed(["hello"], "training"), /longer than 1 ms/);
    assert.ok(lines.some((l) => l.level === 50 && /stuck/.test(String(l.msg))));
  } finally {
    await stuck.close();
  }
  const hurried = createSentenceEncoder({ logger, turnTimeoutMs: 1 });
  try {
    await assert.rejects(hurried.embed(["hello"], "turn"), /longer than 1 ms/);
    assert.equal((await hurried.embed(["hello"], "training")).length, 1, "the thread went on loading");
    assert.equal(hurried.stats().threads, 1);
  } finally {
    await hurried.close();
  }
});

test("training caches the tenant's vectors: a retraining embeds only new texts, removed ones are pruned", async () => {
  const tenantId = await tenantWith("Cache", intents);
  const texts = intents.flatMap((i) => i.examples).length;
  let embedded = encoder.stats().embedded;
  const { logger, lines } = captureLogs();
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer, encoder, logger }), "trained");
  assert.equal(encoder.stats().embedded - embedded, texts);
  assert.equal(await cachedRows(tenantId), texts);
  assert.deepEqual(lines.at(-1)!.encoding && { ...(lines.at(-1)!.encoding as object), ms: 0 }, {
    cached: 0,
    embedded: texts,
    pruned: 0,
    ms: 0,
  });

  // One example more: one text embedded.
  await t.db.intent.update({
    where: { tenantId_name: { tenantId, name: "thanks" } },
    data: { examples: { push: "I owe you one" } },
  });
  embedded = encoder.stats().embedded;
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer, encoder }), "trained");
  assert.equal(encoder.stats().embedded - embedded, 1);
  assert.equal(await cachedRows(tenantId), texts + 1);

  // An example removed: its vector goes, nothing is embedded.
  await t.db.intent.update({
    where: { tenantId_name: { tenantId, name: "greeting" } },
    data: { examples: ["hi", "hello", "good morning"] },
  });
  embedded = encoder.stats().embedded;
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer, encoder }), "trained");
  assert.equal(encoder.stats().embedded - embedded, 0);
  assert.equal(await cachedRows(tenantId), texts);

  // Another tenant with the same texts never reads this one's vectors: it embeds its own.
  const other = await tenantWith("Other", intents);
  embedded = encoder.stats().embedded;
  assert.equal(await trainTenantModel(t.db, other, { trainer, encoder }), "trained");
  assert.equal(encoder.stats().embedded - embedded, texts);
  assert.equal(await cachedRows(tenantId), texts, "the first tenant's cache untouched");
  await t.db.tenant.delete({ where: { id: other } });
  assert.equal(await cachedRows(other), 0, "deleted with its tenant");
});

test("a model trained with the encoder classifies with the message's vector what its n-grams miss", async () => {
  const tenantId = await tenantWith("Turns", intents);
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer, encoder }), "trained");
  const model = await createModelStore(t.db).load(tenantId);
  assert.equal(model.encoder, encoder.name, "stored and loaded with its encoder");
  const [vector] = await encoder.embed([PARAPHRASE], "training");
  const turn = { text: PARAPHRASE, state: undefined, model, tenant: { timezone: "UTC" } };
  assert.equal(understand(turn).intent, "Default Fallback Intent", "the n-grams alone miss it");
  assert.equal(understand({ ...turn, sentenceVector: vector! }).intent, "order.status");
});

test("without the encoder (off) a tenant trains and answers from n-grams alone, and nothing is cached", async () => {
  const tenantId = await tenantWith("Off", intents);
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer }), "trained");
  const model = await createModelStore(t.db).load(tenantId);
  assert.equal(model.encoder, null);
  assert.equal(await cachedRows(tenantId), 0);
  assert.equal(model.classify("where is my order").intent, "order.status");
});

test("the model report's folds learn from and classify with the sentence vectors", async () => {
  const texts = intents.flatMap((i) => i.examples);
  const vectors = await encoder.embed(texts, "training");
  const sentenceVectors = new Map(texts.map((text, i) => [text, vectors[i]!]));
  const plain = crossValidate(intents);
  const withVectors = crossValidate(intents, { sentenceVectors });
  assert.ok(
    withVectors.accuracy! > plain.accuracy!,
    `with vectors ${withVectors.accuracy} > n-grams alone ${plain.accuracy}`,
  );
  // The same vectors give the same folds the same model as the tenant's (trainModel).
  assert.equal(trainModel(intents, { sentenceVectors }).encoder, encoder.name);
});

test("the model report of an encoder tenant judges the model with its cached vectors", async () => {
  const defs: IntentDefinition[] = [
    ...intents,
    // Examples that share few words with each other: the n-grams miss some, the vectors find them.
    {
      name: "weather",
      examples: ["will it rain today", "is it sunny outside", "what's the forecast", "do I need an umbrella"],
    },
  ];
  const tenantId = await tenantWith("Report", defs);
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer, encoder }), "trained");
  const embedded = encoder.stats().embedded;
  assert.equal(await evaluateTenant(t.db, tenantId, { encoder }), "stored");
  assert.equal(encoder.stats().embedded, embedded, "the training's cached vectors, nothing embedded again");
  const { fingerprint } = (await t.db.nluModel.findFirstOrThrow({ where: { tenantId } })) as { fingerprint: string };
  const report = (await evaluationOf(t.db, tenantId, fingerprint))!.report!;
  const plain = crossValidate(defs, { language: "en" });
  assert.ok(report.accuracy! > plain.accuracy!, `with vectors ${report.accuracy} > n-grams alone ${plain.accuracy}`);
});

test("a job whose trainer is busy comes back before embedding anything", async () => {
  const tenantId = await tenantWith("Busy", intents);
  const one = createTrainer({ concurrency: 1 });
  // Its one thread taken by a training still running when the job below asks.
  const running = one.train({ intents, entityTypes: [], language: "en" })!;
  const embedded = encoder.stats().embedded;
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer: one, encoder }), "busy");
  assert.equal(encoder.stats().embedded, embedded);
  assert.equal(await cachedRows(tenantId), 0);
  await running;
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer: one, encoder }), "trained");
});

/** A strict fake encoder: `embed` as given, for failures the real thread cannot be made to have on cue. */
const fakeEncoder = (embed: SentenceEncoder["embed"]): SentenceEncoder => ({
  name: encoder.name,
  dimensions: 512,
  embed,
});
/** An embedding that never ends by itself: only its signal (the job's end) settles it, as the real encoder's. */
const untilAborted: SentenceEncoder["embed"] = (_texts, _priority, signal) =>
  new Promise((_, reject) => {
    if (signal!.aborted) reject(signal!.reason);
    signal!.addEventListener("abort", () => reject(signal!.reason), { once: true });
  });

test("the thread trains the n-gram model while the texts are embedded; the head is trained from vectors that arrive after it, as trainModel would", async () => {
  const texts = intents.flatMap((i) => i.examples);
  const vectors = await encoder.embed(texts, "training");
  const sentenceVectors = new Map(texts.map((text, i) => [text, vectors[i]!]));
  const later = Promise.withResolvers<ReadonlyMap<string, Float32Array>>();
  const training = createTrainer().train({ intents, entityTypes: [], language: "en" }, undefined, {
    sentenceVectors: later.promise,
  })!;
  // Long after the n-gram model of four intents is trained (~0.3 s), the thread still waits for them.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  later.resolve(sentenceVectors);
  const model = join(await training);
  assert.equal(model.encoder, encoder.name, "the head learnt from the vectors posted late");
  assert.deepEqual(model.toJSON(), trainModel(intents, { language: "en", sentenceVectors }).toJSON(), "the same model");
});

test("an encoder that fails while the model trains fails the job as before: the thread ended, nothing stored", async () => {
  const tenantId = await tenantWith("EncoderDown", intents);
  const one = createTrainer({ concurrency: 1 });
  const broken = fakeEncoder(async () => {
    throw new Error("the sentence encoder thread exited (code 3)");
  });
  await assert.rejects(trainTenantModel(t.db, tenantId, { trainer: one, encoder: broken }), /exited \(code 3\)/);
  assert.equal(await t.db.nluModel.count({ where: { tenantId } }), 0);
  const small = { intents: [{ name: "a", examples: ["hi"] }], entityTypes: [], language: "en" };
  const next = one.train(small);
  assert.ok(next, "the training's thread was given back before the job failed");
  await next;
  assert.equal(await trainTenantModel(t.db, tenantId, { trainer: one, encoder }), "trained", "its retry trains");
});

test("a job's end (its time limit) stops both the embedding and the thread; a failed thread stops the embedding", async () => {
  const tenantId = await tenantWith("Stopped", intents);
  const one = createTrainer({ concurrency: 1 });
  const limit = new AbortController();
  const job = trainTenantModel(t.db, tenantId, {
    trainer: one,
    encoder: fakeEncoder(untilAborted),
    signal: limit.signal,
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  limit.abort(new Error("past its time limit"));
  await assert.rejects(job, /past its time limit/);
  assert.ok(one.train({ intents, entityTypes: [], language: "en" }), "the thread ended, its slot free");

  // The thread failing (here, a trainer that gives up) ends the embedding that would never end.
  const failing = {
    train: () => Promise.reject(new Error("the training thread exited (code 1) without a model")),
  };
  await assert.rejects(
    trainTenantModel(t.db, tenantId, { trainer: failing, encoder: fakeEncoder(untilAborted) }),
    /exited \(code 1\)/,
  );
  assert.equal(await t.db.nluModel.count({ where: { tenantId } }), 0);
});
