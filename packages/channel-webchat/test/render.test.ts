import assert from "node:assert/strict";
import { test } from "node:test";
import type { Reply } from "@cb/core";
import { createSender, LIMITS, render } from "../src/index.ts";

test("every reply type within the widget's limits: text split, lists and titles cut", () => {
  const long = "word ".repeat(2000);
  const parts = render({
    type: "text",
    text: long,
    quickReplies: Array.from({ length: 20 }, (_, i) => ({ title: `choice ${i} ${"x".repeat(100)}`, payload: `q${i}` })),
  });
  assert.ok(parts.length > 1);
  for (const part of parts) assert.ok(part.type === "text" && [...part.text].length <= LIMITS.text);
  assert.equal(
    parts.slice(0, -1).some((p) => p.type === "text" && p.quickReplies),
    false,
    "chips on the last part",
  );
  const last = parts.at(-1)!;
  assert.ok(last.type === "text" && last.quickReplies?.length === LIMITS.quickReplies);
  assert.ok(last.quickReplies!.every((q) => [...q.title].length <= LIMITS.title));

  const [cards] = render({
    type: "cards",
    cards: Array.from({ length: 15 }, (_, i) => ({
      title: `card ${i} ${"t".repeat(200)}`,
      subtitle: "s".repeat(1000),
      buttons: Array.from({ length: 15 }, (_, j) => ({ type: "postback" as const, title: `b${j}`, payload: `p${j}` })),
    })),
  });
  assert.ok(cards?.type === "cards");
  assert.equal(cards.cards.length, LIMITS.cards);
  assert.ok(
    cards.cards.every((c) => [...c.title].length <= LIMITS.title && [...c.subtitle!].length <= LIMITS.subtitle),
  );
  assert.ok(cards.cards.every((c) => c.buttons!.length === LIMITS.buttons));

  const buttons = render({
    type: "buttons",
    text: "",
    buttons: [{ type: "url", title: "Site", url: "https://shop.example/" }],
  });
  assert.deepEqual(buttons, [
    { type: "buttons", text: "Choose one:", buttons: [{ type: "url", title: "Site", url: "https://shop.example/" }] },
  ]);
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.png", caption: "c".repeat(2000) })[0], {
    type: "image",
    url: "https://img.example/a.png",
    caption: `${"c".repeat(LIMITS.caption - 1)}…`,
  });
});

test("links and images that are not http(s) are refused, so the sender fails the reply for good", async () => {
  const bad: Reply[] = [
    { type: "image", url: "javascript:alert(1)" },
    { type: "buttons", text: "x", buttons: [{ type: "url", title: "x", url: "data:text/html,<script>1</script>" }] },
    { type: "cards", cards: [{ title: "x", imageUrl: "file:///etc/passwd" }] },
  ];
  for (const reply of bad) assert.throws(() => render(reply), /http\(s\)/, reply.type);
  const sender = createSender(
    { id: "a", tenantId: "t", channel: "webchat", config: {}, secrets: {} },
    {},
    { reserve: async () => {}, block: async () => {} },
  );
  await assert.rejects(sender.send({ externalId: "visitor:x", type: "private" }, bad[0]!));
  assert.equal(sender.reportsDelivery, false, "nothing reports delivery later");
});

test("templates and other channels' custom payloads show nothing; the sender names each part it renders", async () => {
  assert.deepEqual(render({ type: "template", name: "t", language: "en" }), []);
  assert.deepEqual(render({ type: "custom", channel: "telegram", payload: { method: "sendDice" } }), []);
  const sender = createSender(
    { id: "a", tenantId: "t", channel: "webchat", config: {}, secrets: {} },
    {},
    { reserve: async () => {}, block: async () => {} },
  );
  const sent = await sender.send(
    { externalId: "visitor:x", type: "private" },
    { type: "text", text: "a ".repeat(3000) },
  );
  assert.equal(sent.length, 2);
  assert.notEqual(sent[0]!.platformMessageId, sent[1]!.platformMessageId);
  assert.deepEqual(
    sent.map((s) => s.raw),
    render({ type: "text", text: "a ".repeat(3000) }),
  );
});
