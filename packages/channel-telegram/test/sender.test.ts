import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  PlatformError,
  postgresSendLimits,
  type ChannelAccount,
  type InboundMessage,
  type Reply,
  type SendLimits,
} from "@cb/core";
import { startFakeTelegram, type FakeTelegram } from "@cb/fake-telegram";
import { apiRoot, createSender, driver } from "../src/index.ts";
import { simulatedClock } from "@cb/core/testing";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";

// The platforms' limits live in PostgreSQL, shared as between worker processes.
let limitsDb: TestDatabase;
let limits: SendLimits;
before(async () => {
  limitsDb = await createTestDatabase();
  limits = postgresSendLimits(limitsDb.pool);
});
after(() => limitsDb.drop());

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
  const sender = createSender(account, { TELEGRAM_API_ROOT: fake.url }, limits);
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
  const sender = createSender(account, { TELEGRAM_API_ROOT: fake.url }, limits);
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
  const sender = createSender(
    { ...account, secrets: { botToken: "999:wrong", secretToken: "s" } },
    { TELEGRAM_API_ROOT: fake.url },
    limits,
  );
  const err = await sender
    .send({ externalId: "4", type: "private" }, { type: "text", text: "hi" })
    .catch((e: unknown) => e);
  assert.ok(err instanceof PlatformError && err.code === "401" && !err.retryable);
});

test("button presses are acknowledged with answerCallbackQuery", async () => {
  const sender = createSender(account, { TELEGRAM_API_ROOT: fake.url }, limits);
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

const inbound = (extra: Partial<InboundMessage> = {}): InboundMessage => ({
  channel: "telegram",
  platformEventId: "1",
  platformMessageId: "321",
  conversation: { externalId: "-100555", type: "group" },
  sender: { externalId: "42" },
  sentAt: new Date().toISOString(),
  text: "/order 1",
  ...extra,
});

test("every kind of reply is accepted by the strict fake, in order", async (t) => {
  const clock = simulatedClock(t, limitsDb.pool, { stepMs: 100, maxMs: 120_000 });
  const sender = driver.createSender(account, { TELEGRAM_API_ROOT: fake.url }, limits);
  assert.equal(sender.reportsDelivery, false, "Telegram never reports delivery by message id");
  const to = { externalId: "6001", type: "private" as const };
  const from = fake.calls.length;
  const replies: Reply[] = [
    { type: "text", text: "word ".repeat(2000), quickReplies: [{ title: "OK", payload: "ok" }] },
    { type: "buttons", text: "<Pick> & go", buttons: [{ type: "url", title: "Site", url: "https://shop.example" }] },
    {
      type: "cards",
      cards: [
        { title: "Shoe", subtitle: "€49", imageUrl: "https://img.example/s.jpg" },
        { title: "Terms", subtitle: "x ".repeat(3000), imageUrl: "https://img.example/t.jpg" },
      ],
    },
    { type: "image", url: "https://img.example/a.jpg", caption: "😀".repeat(1500) },
    { type: "custom", channel: "telegram", payload: { method: "sendLocation", latitude: 52.5, longitude: 13.4 } },
    { type: "template", name: "order_update", language: "en" },
  ];
  const sent = [];
  for (const reply of replies) sent.push(...(await clock.run(sender.send(to, reply))));
  const calls = fake.calls.slice(from);
  assert.deepEqual(
    calls.map((c) => c.method),
    [
      "sendMessage",
      "sendMessage",
      "sendMessage",
      "sendMessage",
      "sendPhoto",
      "sendPhoto",
      "sendMessage",
      "sendPhoto",
      "sendLocation",
    ],
  );
  assert.ok(calls.every((c) => c.params.chat_id === "6001" && c.params.reply_parameters === undefined));
  assert.deepEqual(
    sent.map((m) => m.platformMessageId),
    calls.map((c) => String((c.result as { message_id: number }).message_id)),
  );
});

test("in groups the answer quotes the message it answers (not a button press), in its forum topic", async (t) => {
  const clock = simulatedClock(t, limitsDb.pool, { stepMs: 100, maxMs: 120_000 });
  const sender = createSender(account, { TELEGRAM_API_ROOT: fake.url }, limits);
  const group = { externalId: "-100555", type: "group" as const };
  await clock.run(sender.send(group, { type: "text", text: "shipped" }, { inReplyTo: inbound() }));
  assert.deepEqual(fake.calls.at(-1)!.params, {
    chat_id: "-100555",
    reply_parameters: { message_id: 321, allow_sending_without_reply: true },
    text: "shipped",
    parse_mode: "HTML",
  });
  await clock.run(
    sender.send({ ...group, threadId: "77" }, { type: "text", text: "in topic" }, { inReplyTo: inbound() }),
  );
  assert.equal(fake.calls.at(-1)!.params.message_thread_id, 77);
  await clock.run(
    sender.send(group, { type: "text", text: "pressed" }, { inReplyTo: inbound({ postback: { payload: "p" } }) }),
  );
  assert.equal(fake.calls.at(-1)!.params.reply_parameters, undefined, "a button press is no message to quote");
  await clock.run(sender.send(group, { type: "text", text: "unprompted" }));
  assert.equal(fake.calls.at(-1)!.params.reply_parameters, undefined);
  await clock.run(
    sender.send({ externalId: "6002", type: "private" }, { type: "text", text: "dm" }, { inReplyTo: inbound() }),
  );
  assert.equal(fake.calls.at(-1)!.params.reply_parameters, undefined, "a private chat needs no quoting");
});

test("5xx is retryable without a delay; an unreachable API is a retryable network error", async () => {
  const sender = createSender(account, { TELEGRAM_API_ROOT: fake.url }, limits);
  fake.failNext("sendMessage", { status: 500, description: "Internal Server Error" });
  const down = await sender
    .send({ externalId: "6003", type: "private" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(down instanceof PlatformError);
  assert.deepEqual([down.platform, down.code, down.retryable, down.retryAfterMs], ["telegram", "500", true, undefined]);
  fake.failNext("sendMessage", { status: 403, description: "Forbidden: bot was blocked by the user" });
  const blocked = await sender
    .send({ externalId: "6004", type: "private" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(blocked instanceof PlatformError);
  assert.deepEqual([blocked.code, blocked.retryable, blocked.retryAfterMs], ["403", false, undefined]);

  const closed = await startFakeTelegram();
  const url = closed.url;
  await closed.close();
  const unreachable = await createSender(account, { TELEGRAM_API_ROOT: url }, limits)
    .send({ externalId: "6005", type: "private" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(unreachable instanceof PlatformError);
  assert.deepEqual([unreachable.platform, unreachable.code, unreachable.retryable], ["telegram", "network", true]);
});

test("only button presses are acknowledged, and only with their query id", async () => {
  const sender = createSender(account, { TELEGRAM_API_ROOT: fake.url }, limits);
  const from = fake.calls.length;
  await sender.acknowledge!(inbound());
  await sender.acknowledge!(inbound({ postback: { payload: "p" }, platformMessageId: "" }));
  assert.equal(fake.calls.length, from, "nothing to answer");
});

test("the Bot API is Telegram's unless configured otherwise", () => {
  assert.equal(apiRoot({}), "https://api.telegram.org");
  assert.equal(apiRoot({ TELEGRAM_API_ROOT: "http://127.0.0.1:8081" }), "http://127.0.0.1:8081");
  assert.equal(driver.name, "telegram");
});
