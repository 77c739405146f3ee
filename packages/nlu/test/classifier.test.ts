import { test } from "node:test";
import assert from "node:assert/strict";
import { IntentClassifier, loadModel, trainModel } from "../src/index.ts";
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
  for (const text of ["where is my order", "hi", "refund please"]) assert.deepEqual(copy.classify(text), model.classify(text));
  assert.deepEqual(copy.entityTypes, [orderIdType]);
  assert.throws(() => IntentClassifier.train([]), /no training examples/);
});
