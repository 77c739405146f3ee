import { test } from "node:test";
import assert from "node:assert/strict";
import { extractEntities, trainModel, understand } from "../src/index.ts";

const ALL = new Set([
  "@sys.any",
  "@sys.given-name",
  "@sys.last-name",
  "@sys.number-integer",
  "@sys.ordinal",
  "@sys.duration",
  "@sys.age",
  "@sys.geo-country",
  "@sys.geo-city",
  "@sys.color",
  "@sys.language",
]);
const found = (text: string, entity: string) =>
  extractEntities(text, { timezone: "UTC", wanted: ALL })
    .filter((e) => e.entity === entity)
    .map((e) => e.value);

test("@sys.number reads number words as well as digits", () => {
  const numbers = (text: string) =>
    extractEntities(text, { timezone: "UTC" })
      .filter((e) => e.entity === "@sys.number")
      .map((e) => e.value);
  assert.deepEqual(numbers("two pizzas and 3 colas"), [2, 3]);
  assert.deepEqual(numbers("twenty-five apples"), [25]);
  assert.deepEqual(numbers("two hundred and five boxes"), [205]);
  assert.deepEqual(numbers("a pizza"), [], "the article is not a number");
});

test("integers, ordinals, durations and ages", () => {
  assert.deepEqual(found("2.5 kilos or four", "@sys.number-integer"), [4]);
  assert.deepEqual(found("the third one, not the 22nd", "@sys.ordinal"), [3, 22]);
  assert.deepEqual(found("remind me in 2 hours or in ten minutes or a day", "@sys.duration"), [
    { amount: 2, unit: "h" },
    { amount: 10, unit: "min" },
    { amount: 1, unit: "day" },
  ]);
  assert.deepEqual(found("she is seven years old", "@sys.age"), [{ amount: 7, unit: "year" }]);
});

test("names, places, colours and languages from their lists", () => {
  assert.deepEqual(found("I'm John Smith", "@sys.given-name"), ["John"]);
  assert.deepEqual(found("I'm John Smith", "@sys.last-name"), ["Smith"]);
  assert.deepEqual(found("ship it to germany or the USA", "@sys.geo-country"), ["Germany", "United States of America"]);
  assert.deepEqual(found("flights from Berlin to New York City", "@sys.geo-city"), ["Berlin", "New York City"]);
  assert.deepEqual(found("a red one, or blue", "@sys.color"), ["red", "blue"]);
  assert.deepEqual(found("do you speak French?", "@sys.language"), ["French"]);
  assert.deepEqual(found("  leave a note at the door ", "@sys.any"), ["leave a note at the door"]);
});

test("list entities are read only when a parameter asks for them, and never inside an address", () => {
  assert.deepEqual(
    extractEntities("write to ada@example.com", { timezone: "UTC" }).map((e) => e.entity),
    ["@sys.email"],
    "nothing asks for names or @sys.any",
  );
  assert.deepEqual(found("write to ada@example.com", "@sys.given-name"), []);
  assert.deepEqual(found("write to Ada", "@sys.given-name"), ["Ada"]);
});

test("a parameter of a list system entity is filled through slot filling", () => {
  const model = trainModel(
    [
      {
        name: "weather",
        examples: ["what is the weather in Paris", "weather in London", "is it raining in Rome", "forecast for Madrid"],
        parameters: [{ name: "city", entity: "@sys.geo-city", required: true, prompts: ["Which city?"] }],
      },
      { name: "hello", examples: ["hello", "hi there", "good morning", "hey"] },
    ],
    {},
  );
  const tenant = { timezone: "UTC" };
  const first = understand({ text: "what's the weather like", state: undefined, model, tenant });
  assert.equal(first.prompt, "Which city?");
  const second = understand({ text: "Lisbon", state: first.state, model, tenant });
  assert.deepEqual(second.parameters, { city: "Lisbon" });
});
