import { test } from "node:test";
import assert from "node:assert/strict";
import { IntentClassifier, loadModel, trainModel, wordVectorsFor } from "../src/index.ts";
import { orderIdType, shopIntents } from "./fixtures.ts";

test("intents are recognised from phrasings never seen in training", () => {
  const model = trainModel(shopIntents, { entityTypes: [orderIdType] });
  const cases: [string, string][] = [
    ["where's my order?", "order.status"],
    ["my package hasn't arrived", "order.status"],
    ["hello!", "greeting"],
    ["I want to return these shoes", "order.return"],
    ["please let me talk to a human", "support.ticket"],
    ["look up my customer account", "crm.lookup"],
  ];
  for (const [text, intent] of cases) assert.equal(model.classify(text).intent, intent, text);
});

test("out of scope: gibberish and unrelated questions get no confident intent", () => {
  const model = trainModel(shopIntents);
  for (const text of ["qwxz plork", "what is the capital of mongolia", "🙂"]) {
    assert.equal(model.classify(text).intent, null, text);
  }
});

test("typos, accents and non-Latin scripts", () => {
  const model = trainModel([
    { name: "book", examples: ["je veux réserver une table", "réservation pour ce soir", "réserver pour deux"] },
    { name: "menu", examples: ["montrez-moi le menu", "qu'est-ce que vous servez", "la carte s'il vous plaît"] },
    { name: "thanks_ru", examples: ["спасибо", "большое спасибо", "спасибо за помощь"] },
    { name: "hello_hi", examples: ["नमस्ते", "नमस्कार", "नमस्ते जी"] },
  ]);
  assert.equal(model.classify("je veux reserver").intent, "book", "accents fold away");
  assert.equal(model.classify("reservaton pour deux").intent, "book", "a typo still matches by character n-grams");
  assert.equal(model.classify("Спасибо!").intent, "thanks_ru");
  assert.equal(model.classify("नमस्ते").intent, "hello_hi");
});

test("a model survives serialization unchanged", () => {
  const model = trainModel(shopIntents, { entityTypes: [orderIdType] });
  const copy = loadModel(JSON.parse(JSON.stringify(model.toJSON())));
  for (const text of ["where is my order", "hi", "refund please"])
    assert.deepEqual(copy.classify(text), model.classify(text));
  assert.deepEqual(copy.entityTypes, [orderIdType]);
  assert.throws(() => IntentClassifier.train([]), /no training examples/);
});

test("a model tells the memory it holds (NluModel.bytes), loaded or trained", () => {
  const model = trainModel(shopIntents, { entityTypes: [orderIdType] });
  const { classifier, ...definitions } = model.toJSON();
  const weights = Buffer.from(classifier!.weights, "base64").length;
  const vocabulary = classifier!.vocabulary.reduce((sum, f) => sum + 2 * f.length + 16, 0);
  const text = 2 * JSON.stringify(definitions).length;
  assert.ok(model.bytes >= weights + vocabulary + text, "weights, vocabulary and definitions all count");
  assert.ok(model.bytes < 2 * (weights + vocabulary + text), "an estimate, not a multiple");
  assert.equal(loadModel(JSON.parse(JSON.stringify(model.toJSON()))).bytes, model.bytes);
  const empty = trainModel([{ name: "fallback", examples: [], isFallback: true }]);
  assert.equal(empty.bytes, 2 * JSON.stringify(empty.toJSON()).replace(',"classifier":null', "").length);
});

test("word vectors: words never seen in training still count", () => {
  const examples = [
    ...["I want to buy shoes", "buy a jacket", "I'd like to order a shirt"].map((text) => ({ text, intent: "buy" })),
    ...["cancel my subscription", "stop my plan", "end my membership"].map((text) => ({ text, intent: "cancel" })),
  ];
  const withVectors = IntentClassifier.train(examples, { wordVectors: wordVectorsFor("en") });
  const plain = IntentClassifier.train(examples);
  // "purchase", "coat" and "discontinue" are in no example: their vectors sit near "buy", "jacket", "stop".
  for (const [text, intent] of [
    ["I'd like to purchase a coat", "buy"],
    ["discontinue my plan", "cancel"],
  ] as const) {
    assert.equal(withVectors.classify(text).intent, intent, text);
    assert.ok(withVectors.classify(text).confidence > plain.classify(text).confidence + 0.05, text);
  }
  const copy = IntentClassifier.load(JSON.parse(JSON.stringify(withVectors.toJSON())));
  assert.deepEqual(copy.classify("discontinue my plan"), withVectors.classify("discontinue my plan"));
});

test("tenant models use word vectors from 20 intents on, in English only", () => {
  const intents = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      name: `intent${i}`,
      examples: [`example ${i} number ${i * 7}`, `phrase ${i}`],
    }));
  assert.equal(trainModel(intents(20), { language: "en-GB" }).toJSON().classifier?.wordVectors, "en-glove-6b-100d");
  assert.equal(
    trainModel(intents(19), { language: "en" }).toJSON().classifier?.wordVectors,
    undefined,
    "too few intents",
  );
  assert.equal(
    trainModel(intents(20), { language: "fr" }).toJSON().classifier?.wordVectors,
    undefined,
    "no vectors ship for French",
  );
});

test("word vectors: known words only, stop words left out", () => {
  const vectors = wordVectorsFor("en")!;
  const into = new Float32Array(vectors.dimensions);
  assert.equal(vectors.read("purchase", into), true);
  assert.ok(into.some((v) => v !== 0));
  assert.equal(vectors.read("the", into), false);
  assert.equal(vectors.read("qwxzplork", into), false);
  assert.equal(wordVectorsFor("ja"), null);
  assert.equal(wordVectorsFor("constructor"), null);
});
