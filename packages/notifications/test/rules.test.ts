import { test } from "node:test";
import assert from "node:assert/strict";
import { conditionHolds, firstValue, renderText, type EventDocument } from "../src/rules.ts";

const event: EventDocument = {
  id: "evt-1",
  type: "order.shipped",
  subject: "A-1",
  occurredAt: "2026-11-24T14:03:00.000Z",
  data: { orderId: "A-1", total: 50, carrier: "DHL", price: "US$", items: [{ sku: "x-1" }, { sku: "x-2" }] },
};

test("conditions are JSONPath filter expressions over the event, with $ or $[...] for the event itself", () => {
  const cases: [string, boolean][] = [
    ["$.data.total > 10", true],
    ["$.data.total > 100", false],
    ["$.data.carrier == 'DHL' && $.data.total > 10", true],
    ["$.data.carrier == 'DHL' && $.data.total > 100", false],
    ["$.type == 'order.shipped'", true],
    ["$['data'].carrier == 'DHL'", true],
    ["$.data.items[1].sku == 'x-2'", true],
    ["$.data.missing > 1", false],
    // Surrounding white space, a trailing newline included, is no part of the expression.
    ["\n $.data.total > 10\n", true],
    // A $ that is not a path (inside a string) is left alone.
    ["$.data.price == 'US$'", true],
  ];
  for (const [condition, holds] of cases) assert.equal(conditionHolds(condition, event), holds, condition);
});

test("a condition that is not a valid expression never holds (and never throws), and is reported", () => {
  const reported: Error[] = [];
  const report = (err: Error) => reported.push(err);
  assert.equal(conditionHolds("$.data.total >", event, report), false);
  assert.equal(conditionHolds("$.data.total > (", event, report), false);
  assert.equal(reported.length, 2);
  assert.ok(reported.every((err) => err instanceof Error));
  // Valid conditions are not, whether they hold or not.
  assert.equal(conditionHolds("$.data.total > 1000000", event, report), false);
  assert.equal(conditionHolds("$.data.total > 0", event, report), true);
  assert.equal(reported.length, 2);
});

test("firstValue is the first match of a JSONPath, undefined for none", () => {
  assert.equal(firstValue("$.data.items[*].sku", event), "x-1");
  assert.equal(firstValue("$.data.orderId", event), "A-1");
  assert.equal(firstValue("$.data.missing", event), undefined);
});

test("texts are Mustache templates over the event, without HTML escaping (chat text)", () => {
  const withMarkup = { ...event, data: { ...event.data, note: "<b>Tom & Jerry</b>" } };
  assert.equal(
    renderText("Order {{data.orderId}} ({{subject}}) with {{data.carrier}}: {{data.note}}", withMarkup),
    "Order A-1 (A-1) with DHL: <b>Tom & Jerry</b>",
  );
  assert.equal(renderText("{{#data.items}}{{sku}} {{/data.items}}", event), "x-1 x-2 ");
});
