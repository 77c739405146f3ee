import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseVariant, renderReplies, resolve, type PlaceholderScope } from "../src/placeholders.ts";

const scope: PlaceholderScope = {
  parameters: { size: "large", "food-items": ["pizza", "fries", "cola"], drink: ["water"], count: 2, empty: "" },
  originals: { size: "big" },
  contexts: [
    {
      name: "order-context",
      lifespanCount: 3,
      parameters: { order_id: "12345", "order_id.original": "one two three four five" },
    },
    { name: "order-shipped", lifespanCount: 1, parameters: { carrier: "DHL" } },
  ],
};

test("parameter references: $param, $param.original, #context.param, #context.param.original", () => {
  assert.deepEqual(resolve("Ok, a $size pizza.", scope), { text: "Ok, a large pizza.", filled: true });
  assert.equal(resolve("You said $size.original.", scope).text, "You said big.");
  assert.equal(resolve("Order #order-context.order_id is on its way.", scope).text, "Order 12345 is on its way.");
  assert.equal(resolve("You typed #order-context.order_id.original", scope).text, "You typed one two three four five");
  assert.equal(resolve("Shipped with #order-shipped.carrier", scope).text, "Shipped with DHL");
  assert.equal(resolve("$count pizzas", scope).text, "2 pizzas", "numbers as text");
});

test("a list reads as Dialogflow shows it: 'a, b and c'; one item alone", () => {
  assert.equal(resolve("You ordered $food-items.", scope).text, "You ordered pizza, fries and cola.");
  assert.equal(resolve("and $drink", scope).text, "and water");
});

test("unfilled references become empty and are reported; money, hashtags and escapes stay text", () => {
  assert.deepEqual(resolve("A $colour pizza", scope), { text: "A  pizza", filled: false });
  assert.deepEqual(resolve("A $empty pizza", scope), { text: "A  pizza", filled: false });
  assert.deepEqual(resolve("#order-context.missing", scope), { text: "", filled: false });
  assert.deepEqual(resolve("#nowhere.order_id", scope), { text: "", filled: false });
  assert.deepEqual(resolve("It costs $5 #yum", scope), { text: "It costs $5 #yum", filled: true });
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Dialogflow's escapes, not a template
  assert.equal(resolve("${100} and ${$size} and #{hello}", scope).text, "$100 and $large and #hello");
});

test("among text variants, one whose references are all filled is chosen; the same seed picks the same one", () => {
  const variants = ["A $colour $size pizza?", "A $size pizza, coming up.", "Sure, $size it is."];
  const picks = new Set<string>();
  for (let n = 0; n < 40; n++) picks.add(chooseVariant(variants, scope, `message-${n}`));
  assert.deepEqual([...picks].sort(), ["A large pizza, coming up.", "Sure, large it is."], "both eligible ones occur");
  assert.equal(chooseVariant(variants, scope, "m-1"), chooseVariant(variants, scope, "m-1"));
  assert.ok(
    ["Which ?", "What ?"].includes(chooseVariant(["Which $colour?", "What $colour?"], scope, "m-2")),
    "when none is filled, one is still said",
  );
});

test("replies: text variants, quick replies, card and caption texts are resolved; payloads are not", () => {
  const replies = renderReplies(
    [
      {
        type: "text",
        text: "A $colour pizza",
        variants: ["A $colour pizza", "A $size pizza"],
        quickReplies: [{ title: "More $size", payload: "$size" }],
      } as never,
      {
        type: "cards",
        cards: [
          {
            title: "$size pizza",
            subtitle: "for #order-context.order_id",
            buttons: [{ type: "postback", title: "Add $size", payload: "add" }],
          },
        ],
      },
      { type: "image", url: "https://img.example/$size.png", caption: "A $size one" },
      { type: "buttons", text: "Size $size?", buttons: [{ type: "postback", title: "Keep $size", payload: "$size" }] },
      { type: "custom", channel: "telegram", payload: { text: "$size" } },
    ],
    scope,
    "m",
  );
  assert.deepEqual(replies, [
    { type: "text", text: "A large pizza", quickReplies: [{ title: "More large", payload: "$size" }] },
    {
      type: "cards",
      cards: [
        {
          title: "large pizza",
          subtitle: "for 12345",
          buttons: [{ type: "postback", title: "Add large", payload: "add" }],
        },
      ],
    },
    { type: "image", url: "https://img.example/$size.png", caption: "A large one" },
    { type: "buttons", text: "Size large?", buttons: [{ type: "postback", title: "Keep large", payload: "$size" }] },
    { type: "custom", channel: "telegram", payload: { text: "$size" } },
  ]);
});
