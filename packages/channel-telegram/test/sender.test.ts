import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PlatformError, type ChannelAccount } from "@cb/core";
import { startFakeTelegram, type FakeTelegram } from "@cb/fake-telegram";
import { createTelegramSender } from "../src/index.ts";

let fake: FakeTelegram;
const token = "123456:TEST-token";
const account: ChannelAccount = {
  id: "a1",
  tenantId: "t1",
  channel: "telegram",
  config: {},
  secrets: { botToken: token, secretToken: "s" },
};

before(async () => {
  fake = await startFakeTelegram();
  fake.addBot(token);
});
after(() => fake.close());

test("replies go out through telegraf as the Bot API expects them", async () => {
  const sender = createTelegramSender(account, { TELEGRAM_API_ROOT: fake.url });
  const sent = await sender.send(
    { externalId: "1111111", type: "private" },
    { type: "buttons", text: "Pick one", buttons: [{ type: "postback", title: "Yes", payload: "yes" }] },
  );
  assert.equal(sent.length, 1);
  assert.match(sent[0]!.platformMessageId, /^\d+$/);
  const call = fake.calls.at(-1)!;
  assert.equal(call.method, "sendMessage");
  // Same shape telegraf itself produced on the wire (fixtures/telegram/captured_telegraf_sendMessage_inline_keyboard.json).
  assert.deepEqual(call.params, {
    chat_id: "1111111",
    text: "Pick one",
    parse_mode: "HTML",
    reply_markup: { inline_keyboard: [[{ text: "Yes", callback_data: "yes" }]] },
  });
});

test("429 is retryable with the platform's retry_after; 400 is permanent with its description", async () => {
  const sender = createTelegramSender(account, { TELEGRAM_API_ROOT: fake.url });
  fake.failNext("sendMessage", { status: 429, description: "Too Many Requests: retry after 7", retryAfter: 7 });
  const limited = await sender
    .send({ externalId: "2", type: "private" }, { type: "text", text: "hi" })
    .catch((e: unknown) => e);
  assert.ok(limited instanceof PlatformError);
  assert.equal(limited.retryable, true);
  assert.equal(limited.retryAfterMs, 7000);
  assert.equal(limited.code, "429");

  fake.failNext("sendMessage", { status: 400, description: "Bad Request: chat not found" });
  const missing = await sender
    .send({ externalId: "3", type: "private" }, { type: "text", text: "hi" })
    .catch((e: unknown) => e);
  assert.ok(missing instanceof PlatformError);
  assert.equal(missing.retryable, false);
  assert.equal(missing.message, "Bad Request: chat not found");
});

test("a wrong token is refused by the fake and surfaces as a permanent error", async () => {
  const sender = createTelegramSender(
    { ...account, secrets: { botToken: "999:wrong", secretToken: "s" } },
    { TELEGRAM_API_ROOT: fake.url },
  );
  const err = await sender
    .send({ externalId: "4", type: "private" }, { type: "text", text: "hi" })
    .catch((e: unknown) => e);
  assert.ok(err instanceof PlatformError && err.code === "401" && !err.retryable);
});

test("button presses are acknowledged with answerCallbackQuery", async () => {
  const sender = createTelegramSender(account, { TELEGRAM_API_ROOT: fake.url });
  await sender.acknowledge!({
    channel: "telegram",
    platformEventId: "1",
    platformMessageId: "cbq-1",
    conversation: { externalId: "5", type: "private" },
    sender: { externalId: "5" },
    sentAt: new Date().toISOString(),
    postback: { payload: "yes" },
  });
  assert.deepEqual(fake.calls.at(-1), {
    ...fake.calls.at(-1)!,
    method: "answerCallbackQuery",
    params: { callback_query_id: "cbq-1" },
  });
});
