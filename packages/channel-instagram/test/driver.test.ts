import { test } from "node:test";
import assert from "node:assert/strict";
import { agentReplyVerdict, notificationVerdict } from "@cb/core";
import { driver } from "../src/index.ts";

const HOUR = 3_600_000;
const text = { type: "text" as const, text: "hi" };

test("connecting generates a verify token and names the Instagram webhook fields to subscribe to", async () => {
  const prepared = await driver.connection.prepare!({ credentials: {}, config: {}, env: {} });
  const verifyToken = prepared.secrets?.verifyToken ?? "";
  assert.match(verifyToken, /^[A-Za-z0-9_-]{32}$/);
  const setup = await driver.connection.register(
    { id: "a", tenantId: "t", channel: "instagram", config: {}, secrets: { verifyToken } },
    "https://bot.example.com/webhooks/instagram/a",
    {},
  );
  assert.deepEqual(setup.subscribe, ["messages", "messaging_postbacks", "message_reactions", "messaging_seen"]);
  assert.equal(setup.verifyToken, verifyToken);
  assert.equal(setup.callbackUrl, "https://bot.example.com/webhooks/instagram/a");
  assert.match(setup.instructions, /Instagram/);
  assert.deepEqual(driver.credentials.required, ["pageAccessToken", "appSecret"]);
  assert.deepEqual(driver.config.required, ["instagramAccountId"]);
});

test("the 24-hour window; after it only a human agent, tagged HUMAN_AGENT, for 7 days", () => {
  assert.deepEqual(notificationVerdict(driver, 23 * HOUR, "hi", undefined), { ok: true, reply: text });
  assert.equal(notificationVerdict(driver, 25 * HOUR, "hi", undefined).ok, false);
  assert.deepEqual(notificationVerdict(driver, 25 * HOUR, "hi", { tag: "HUMAN_AGENT" }), {
    ok: true,
    reply: text,
    messageTag: "HUMAN_AGENT",
  });
  assert.deepEqual(agentReplyVerdict(driver, 6 * 24 * HOUR, text), {
    ok: true,
    reply: text,
    messageTag: "HUMAN_AGENT",
  });
  assert.equal(agentReplyVerdict(driver, 7 * 24 * HOUR, text).ok, false);
  assert.equal(agentReplyVerdict(driver, HOUR, { type: "template", name: "t", language: "en" }).ok, false);
});
