import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { LIMITS, render } from "../src/index.ts";

const bytes = (s: unknown) => Buffer.byteLength(String(s));

test("text is split under 1000 bytes of UTF-8, multi-byte text included", () => {
  for (const text of ["word ".repeat(900), "ü".repeat(1500), "🙂".repeat(700)]) {
    const parts = render({ type: "text", text });
    assert.ok(parts.length > 1);
    for (const p of parts) assert.ok(bytes(p.text) <= LIMITS.text, `${bytes(p.text)} bytes`);
    assert.equal(
      parts
        .map((p) => p.text)
        .join("")
        .replaceAll(" ", ""),
      text.replaceAll(" ", ""),
    );
  }
});

test("quick replies: at most 13, titles of 20, under the last part of the text", () => {
  const [m] = render({
    type: "text",
    text: "Pick a size",
    quickReplies: Array.from({ length: 15 }, (_, i) => ({ title: `Size number ${i} extra long`, payload: `S${i}` })),
  });
  const quick = m!.quick_replies as { title: string; payload: string; content_type: string }[];
  assert.equal(quick.length, 13);
  assert.ok(quick.every((q) => [...q.title].length <= 20 && q.content_type === "text"));
  assert.equal(quick[0]!.payload, "S0");
});

test("cards are generic templates as Meta documents them: 10 elements each, 3 buttons, titles of 80", () => {
  const sample = JSON.parse(
    readFileSync(new URL("./fixtures/docs_generic_template_request.json", import.meta.url), "utf8"),
  );
  const [documented] = render({
    type: "cards",
    cards: [
      {
        title: "Welcome!",
        subtitle: "We have the right hat for everyone.",
        imageUrl: "https://github.com/fbsamples/original-coast-clothing/blob/main/public/looks/male-work.jpg",
        buttons: [
          { type: "url", title: "View Website", url: "https://www.originalcoastclothing.com" },
          { type: "postback", title: "Start Chatting", payload: "DEVELOPER_DEFINED_PAYLOAD" },
        ],
      },
    ],
  });
  const { default_action: _, ...element } = sample.message.attachment.payload.elements[0];
  assert.deepEqual(documented, {
    attachment: { type: "template", payload: { template_type: "generic", elements: [element] } },
  });
  const many = render({
    type: "cards",
    cards: Array.from({ length: 12 }, (_, i) => ({ title: `T${i}`.repeat(50), buttons: [] })),
  });
  assert.equal(many.length, 2);
  const elements = (many[0]!.attachment as { payload: { elements: { title: string }[] } }).payload.elements;
  assert.equal(elements.length, 10);
  assert.ok(elements.every((e) => [...e.title].length <= 80));
});

test("buttons: postbacks become quick replies; links go on a card titled with the text (or after it)", () => {
  const [quick] = render({
    type: "buttons",
    text: "Track it?",
    buttons: [{ type: "postback", title: "Yes", payload: "TRACK" }],
  });
  assert.deepEqual(quick, {
    text: "Track it?",
    quick_replies: [{ content_type: "text", title: "Yes", payload: "TRACK" }],
  });
  const link = { type: "url" as const, title: "Open", url: "https://shop.example/o/1" };
  const [card] = render({ type: "buttons", text: "Your order", buttons: [link] });
  assert.deepEqual(card, {
    attachment: {
      type: "template",
      payload: {
        template_type: "generic",
        elements: [{ title: "Your order", buttons: [{ type: "web_url", url: link.url, title: "Open" }] }],
      },
    },
  });
  const long = render({ type: "buttons", text: "x".repeat(100), buttons: [link, link, link, link] });
  assert.equal(long[0]!.text, "x".repeat(100));
  const cards = (long[1]!.attachment as { payload: { elements: { title: string; buttons: unknown[] }[] } }).payload
    .elements;
  assert.deepEqual(
    cards.map((e) => [e.title, e.buttons.length]),
    [
      ["Choose one:", 3],
      ["Choose one:", 1],
    ],
  );
});

test("images, custom payloads for Instagram only, no templates", () => {
  assert.deepEqual(render({ type: "image", url: "https://shop.example/a.png", caption: "Your parcel" }), [
    { attachment: { type: "image", payload: { url: "https://shop.example/a.png" } } },
    { text: "Your parcel" },
  ]);
  assert.deepEqual(render({ type: "custom", channel: "instagram", payload: { sticker: "like_heart" } }), [
    { sticker: "like_heart" },
  ]);
  assert.deepEqual(render({ type: "custom", channel: "messenger", payload: { text: "x" } }), []);
  assert.deepEqual(render({ type: "template", name: "order_update", language: "en" }), []);
});
