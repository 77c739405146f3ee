import { test } from "node:test";
import assert from "node:assert/strict";
import { extractEntities } from "../src/index.ts";

const now = new Date("2026-11-24T22:30:00Z"); // Tuesday; already Wednesday in Tokyo
const values = (text: string, ctx: Parameters<typeof extractEntities>[1] = { timezone: "UTC", now }) =>
  extractEntities(text, ctx).map((e) => [e.entity, e.value]);

test("system entities: e-mail, URL, money, percentage, numbers", () => {
  assert.deepEqual(values("mail ADA@Example.com or see https://shop.example/orders?id=1."), [
    ["@sys.email", "ada@example.com"],
    ["@sys.url", "https://shop.example/orders?id=1"],
  ]);
  assert.deepEqual(values("it cost €49.90 and 20 USD"), [
    ["@sys.unit-currency", { amount: 49.9, currency: "EUR" }],
    ["@sys.number", 49.9],
    ["@sys.unit-currency", { amount: 20, currency: "USD" }],
    ["@sys.number", 20],
  ]);
  assert.deepEqual(values("a 15% discount"), [
    ["@sys.percentage", 15],
    ["@sys.number", 15],
  ]);
});

test("phone numbers use the tenant's default region", () => {
  const found = extractEntities("call me on 030 1234567 or +44 20 7946 0958", {
    timezone: "Europe/Berlin",
    region: "DE",
    now,
  }).filter((e) => e.entity === "@sys.phone-number");
  assert.deepEqual(
    found.map((e) => e.value),
    ["+49301234567", "+442079460958"],
  );
});

test("dates and times are read in the tenant's time zone", () => {
  const utc = extractEntities("deliver tomorrow", { timezone: "UTC", now }).find((e) => e.entity === "@sys.date");
  const tokyo = extractEntities("deliver tomorrow", { timezone: "Asia/Tokyo", now }).find(
    (e) => e.entity === "@sys.date",
  );
  assert.equal(utc?.value, "2026-11-25");
  assert.equal(tokyo?.value, "2026-11-26", "in Tokyo it is already the 25th, so tomorrow is the 26th");
  assert.equal(utc?.text, "tomorrow");
  const period = extractEntities("from Dec 1 to Dec 5", { timezone: "UTC", now }).find(
    (e) => e.entity === "@sys.date-period",
  );
  assert.deepEqual(period?.value, { startDate: "2026-12-01", endDate: "2026-12-05" });
  const time = extractEntities("at 3pm", { timezone: "UTC", now }).find((e) => e.entity === "@sys.time");
  assert.equal(time?.value, "15:00:00");
});

test("custom entities: lists with synonyms and typos, and patterns", () => {
  const types = [
    {
      name: "size",
      kind: "list" as const,
      entries: [
        { value: "large", synonyms: ["big", "XL"] },
        { value: "medium", synonyms: ["regular"] },
      ],
    },
    { name: "colour", kind: "list" as const, entries: [{ value: "turquoise" }] },
    { name: "order_id", kind: "pattern" as const, pattern: "\\b\\d{5}\\b" },
  ];
  const found = extractEntities("a big one in turqoise for order 12345", { timezone: "UTC", now, types });
  const custom = found.filter((e) => !e.entity.startsWith("@sys."));
  assert.deepEqual(
    custom.map((e) => [e.entity, e.value, e.text]),
    [
      ["@size", "large", "big"],
      ["@colour", "turquoise", "turqoise"],
      ["@order_id", "12345", "12345"],
    ],
  );
});

test("a word that is an entry's value and, one edit away, its synonym is found once", () => {
  const types = [
    { name: "food", kind: "list" as const, entries: [{ value: "pizza", synonyms: ["pizzas"] }, { value: "fries" }] },
  ];
  const found = extractEntities("pizza and fries", { timezone: "UTC", now, types });
  assert.deepEqual(
    found.map((e) => [e.value, e.text]),
    [
      ["pizza", "pizza"],
      ["fries", "fries"],
    ],
  );
});
