import { test } from "node:test";
import assert from "node:assert/strict";
import { agentReplyVerdict, notificationVerdict, randomToken, type MessagingPolicy } from "../src/index.ts";

const HOUR = 3_600_000;
const text = { type: "text" as const, text: "hi" };
const template = { type: "template" as const, name: "t", language: "en" };
const windowed = (policy: Omit<MessagingPolicy, "replyWindowMs">) => ({
  name: "x",
  displayName: "X",
  policy: { replyWindowMs: 24 * HOUR, ...policy },
});

test("generated tokens are long, random, and of the characters platforms accept", () => {
  const tokens = Array.from({ length: 20 }, randomToken);
  for (const token of tokens) assert.match(token, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(new Set(tokens).size, 20);
});

test("a human agent's reply: the human-agent window and tag, else the reply window; templates only where they exist", () => {
  const open = { name: "o", displayName: "Open", policy: { templates: false } };
  assert.deepEqual(agentReplyVerdict(open, Number.POSITIVE_INFINITY, text), { ok: true, reply: text });
  assert.deepEqual(agentReplyVerdict(open, 0, template), { ok: false, reason: "Open has no message templates" });

  const tagged = windowed({ humanAgent: { windowMs: 7 * 24 * HOUR, tag: "HUMAN_AGENT" }, templates: false });
  assert.deepEqual(agentReplyVerdict(tagged, 6 * 24 * HOUR, text), {
    ok: true,
    reply: text,
    messageTag: "HUMAN_AGENT",
  });
  assert.deepEqual(agentReplyVerdict(tagged, 7 * 24 * HOUR, text), {
    ok: false,
    reason: "X takes a human agent's reply only within 7 days of the customer's last message",
  });

  const templated = windowed({ outsideWindow: { kind: "template" }, templates: true });
  assert.deepEqual(agentReplyVerdict(templated, 23 * HOUR, text), { ok: true, reply: text });
  assert.equal(agentReplyVerdict(templated, 24 * HOUR, text).ok, false);
  assert.deepEqual(agentReplyVerdict(templated, 1000 * HOUR, template), { ok: true, reply: template });

  const closed = windowed({ templates: false });
  assert.deepEqual(agentReplyVerdict(closed, 25 * HOUR, text), {
    ok: false,
    reason: "X takes no message more than 24 hours after the customer's last message",
  });
});

test("a notification outside the window: the channel's template or tag, else refused saying why", () => {
  const templated = windowed({ outsideWindow: { kind: "template" }, templates: true });
  assert.deepEqual(notificationVerdict(templated, 23 * HOUR, "hi", undefined), { ok: true, reply: text });
  assert.deepEqual(notificationVerdict(templated, 24 * HOUR, "hi", undefined), {
    ok: false,
    reason: "x: outside the 24-hour window and no approved template",
  });
  assert.deepEqual(
    notificationVerdict(templated, 24 * HOUR, "hi", { template: "t", language: "en", parameters: ["A"] }),
    {
      ok: true,
      reply: { ...template, components: [{ type: "body", parameters: [{ type: "text", text: "A" }] }] },
    },
  );
  const tagged = windowed({ outsideWindow: { kind: "tag", tags: ["HUMAN_AGENT"] }, templates: false });
  assert.deepEqual(notificationVerdict(tagged, 24 * HOUR, "hi", undefined), {
    ok: false,
    reason: "x: outside the 24-hour window and no message tag",
  });
  assert.deepEqual(notificationVerdict(tagged, 24 * HOUR, "hi", { tag: "HUMAN_AGENT" }), {
    ok: true,
    reply: text,
    messageTag: "HUMAN_AGENT",
  });
  assert.deepEqual(notificationVerdict(windowed({ templates: false }), 24 * HOUR, "hi", undefined), {
    ok: false,
    reason: "x: outside the 24-hour window",
  });
  assert.deepEqual(notificationVerdict({ name: "o", policy: { templates: false } }, 24 * HOUR, "hi", undefined), {
    ok: true,
    reply: text,
  });
});
