import { test } from "node:test";
import assert from "node:assert/strict";
import { extractEntities, SYSTEM_ENTITIES, trainModel, understand } from "../src/index.ts";

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

test("a date with a time also fills @sys.date and @sys.time parameters", () => {
  const wanted = new Set(["@sys.date", "@sys.time"]);
  const now = new Date("2026-11-24T10:00:00Z");
  const read = extractEntities("tomorrow at 3pm", { timezone: "UTC", now, wanted }).map((e) => [e.entity, e.value]);
  assert.deepEqual(read, [
    ["@sys.date-time", "2026-11-25T15:00:00"],
    ["@sys.date", "2026-11-25"],
    ["@sys.time", "15:00:00"],
  ]);
  assert.deepEqual(
    extractEntities("tomorrow at 3pm", { timezone: "UTC", now }).map((e) => e.entity),
    ["@sys.date-time"],
    "only when a parameter asks for them",
  );
});

test("every system entity listed as supported is read", () => {
  const samples: Record<(typeof SYSTEM_ENTITIES)[number], string> = {
    "@sys.number": "two",
    "@sys.number-integer": "7",
    "@sys.ordinal": "the fifth",
    "@sys.unit-currency": "$5",
    "@sys.percentage": "10%",
    "@sys.email": "a@b.example",
    "@sys.url": "https://a.example",
    "@sys.phone-number": "+44 20 7946 0958",
    "@sys.date": "next Monday",
    "@sys.time": "at 5pm",
    "@sys.date-time": "tomorrow at 5pm",
    "@sys.date-period": "from Monday to Friday",
    "@sys.duration": "3 weeks",
    "@sys.age": "40 years old",
    "@sys.any": "whatever",
    "@sys.given-name": "Maria",
    "@sys.last-name": "Smith",
    "@sys.geo-country": "Japan",
    "@sys.geo-city": "Tokyo",
    "@sys.color": "green",
    "@sys.language": "Spanish",
  };
  for (const entity of SYSTEM_ENTITIES) {
    const found = extractEntities(samples[entity], { timezone: "UTC", wanted: new Set([entity]) });
    assert.ok(
      found.some((e) => e.entity === entity),
      `${entity} in "${samples[entity]}"`,
    );
  }
});

test("events select the intent listing them, most specific first; resetContexts clears the active contexts", () => {
  const model = trainModel(
    [
      { name: "welcome", examples: ["hello", "hi"], events: ["WELCOME"] },
      { name: "telegram welcome", examples: [], events: ["TELEGRAM_WELCOME"] },
      {
        name: "start over",
        examples: ["start over", "restart", "from the beginning"],
        resetContexts: true,
        outputContexts: [{ name: "fresh", lifespan: 2 }],
      },
      {
        name: "order",
        examples: ["order a pizza", "I want pizza"],
        outputContexts: [{ name: "ordering", lifespan: 5 }],
      },
    ],
    {},
  );
  const tenant = { timezone: "UTC" };
  const say = (text: string, events?: string[], state?: Parameters<typeof understand>[0]["state"]) =>
    understand({ text, ...(events ? { events } : {}), state, model, tenant });
  assert.equal(say("/start", ["TELEGRAM_WELCOME", "WELCOME"]).intent, "telegram welcome");
  assert.equal(say("/start", ["FACEBOOK_WELCOME", "WELCOME"]).intent, "welcome");
  assert.equal(say("order a pizza", ["NO_SUCH_EVENT"]).intent, "order", "an event no intent lists leaves the text");
  const ordering = say("order a pizza");
  assert.deepEqual(
    ordering.contexts.map((c) => c.name),
    ["ordering"],
  );
  const reset = say("start over", undefined, ordering.state);
  assert.equal(reset.intent, "start over");
  assert.deepEqual(
    reset.contexts.map((c) => c.name),
    ["fresh"],
    "the ordering context is gone",
  );
});
