import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PlatformError, postgresSendLimits, type Reply, type SendLimits } from "@cb/core";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { startFakeSlack, type FakeSlack } from "@cb/fake-slack";
import { createSender, driver } from "../src/index.ts";
import { handConnected } from "./support.ts";

// The platforms' limits live in PostgreSQL, shared as between worker processes.
let limitsDb: TestDatabase;
let limits: SendLimits;
before(async () => {
  limitsDb = await createTestDatabase();
  limits = postgresSendLimits(limitsDb.pool);
});
after(() => limitsDb.drop());

const account = handConnected;
let slack: FakeSlack;

before(async () => {
  slack = await startFakeSlack();
  slack.addToken("xoxb-test");
});
after(() => slack.close());

test("the sender posts through the WebClient to the strict fake; in threads; errors classified", async () => {
  const sender = createSender(account, { SLACK_API_URL: slack.url }, limits);
  const [sent] = await sender.send(
    { externalId: "C111", type: "group", threadId: "1595926230.009600" },
    { type: "buttons", text: "Hi", buttons: [{ type: "postback", title: "Yes", payload: "yes" }] },
  );
  assert.match(sent!.platformMessageId, /^\d+\.\d+$/);
  const call = slack.calls.at(-1)!;
  assert.equal(call.args.channel, "C111");
  assert.equal(call.args.thread_ts, "1595926230.009600");
  assert.equal(call.args.blocks[1].elements[0].value, "yes");

  slack.failNext("chat.postMessage", { status: 429, error: "ratelimited", retryAfter: 7 });
  const limited = await sender
    .send({ externalId: "C2", type: "group" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(limited instanceof PlatformError && limited.retryable && limited.retryAfterMs === 7000, String(limited));
  slack.failNext("chat.postMessage", { error: "channel_not_found" });
  const missing = await sender
    .send({ externalId: "C3", type: "group" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(missing instanceof PlatformError && !missing.retryable && missing.code === "channel_not_found");
  const bad = await createSender(
    { ...account, secrets: { botToken: "xoxb-revoked", signingSecret: "s" } },
    { SLACK_API_URL: slack.url },
    limits,
  )
    .send({ externalId: "C4", type: "group" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(bad instanceof PlatformError && bad.code === "invalid_auth");
});

test("every kind of reply is accepted by the strict fake", async () => {
  const sender = createSender(account, { SLACK_API_URL: slack.url }, limits);
  assert.equal(sender.reportsDelivery, false, "Slack never reports delivery by message id");
  const replies: Reply[] = [
    {
      type: "text",
      text: "<word> & ".repeat(2000),
      quickReplies: Array.from({ length: 30 }, (_, i) => ({ title: `Option ${i} `.repeat(10), payload: `o${i}` })),
    },
    { type: "buttons", text: "Go", buttons: [{ type: "url", title: "Site", url: "https://shop.example" }] },
    {
      type: "cards",
      cards: Array.from({ length: 30 }, (_, i) => ({
        title: `Shoe ${i}`.repeat(i === 0 ? 400 : 1),
        subtitle: "<&>".repeat(1500),
        imageUrl: "https://img.example/s.png",
        buttons: [{ type: "postback" as const, title: "Buy", payload: `buy${i}` }],
      })),
    },
    { type: "image", url: "https://img.example/a.png", caption: "c".repeat(2500) },
    { type: "custom", channel: "slack", payload: { text: "raw" } },
  ];
  const from = slack.calls.length;
  const sent = await Promise.all(
    replies.map((reply, i) => sender.send({ externalId: `C9${i}`, type: "group" }, reply)),
  );
  assert.deepEqual(
    sent.map((s) => s.length),
    [1, 1, 2, 1, 1],
  );
  const calls = slack.calls.slice(from);
  assert.equal(calls.length, 6);
  assert.deepEqual(
    sent
      .flat()
      .map((s) => s.platformMessageId)
      .sort(),
    calls.map((c) => c.ts).sort(),
  );
});

test("errors: 5xx retryable, other HTTP errors and refusals permanent, an unreachable API a retryable network error", async () => {
  const sender = createSender(account, { SLACK_API_URL: slack.url }, limits);
  const fail = async (failure: { status?: number; error?: string; retryAfter?: number }, channel: string) => {
    slack.failNext("chat.postMessage", failure);
    const err = await sender
      .send({ externalId: channel, type: "group" }, { type: "text", text: "x" })
      .catch((e: unknown) => e);
    assert.ok(err instanceof PlatformError);
    return [err.platform, err.code, err.retryable, err.retryAfterMs];
  };
  assert.deepEqual(await fail({ status: 429, retryAfter: 30 }, "E1"), ["slack", "rate_limited", true, 30_000]);
  assert.deepEqual(await fail({ status: 500, error: "fatal_error" }, "E2"), ["slack", "500", true, undefined]);
  assert.deepEqual(await fail({ status: 503, error: "service_unavailable" }, "E3"), ["slack", "503", true, undefined]);
  assert.deepEqual(await fail({ status: 404, error: "x" }, "E4"), ["slack", "404", false, undefined]);
  assert.deepEqual(await fail({ error: "not_in_channel" }, "E5"), ["slack", "not_in_channel", false, undefined]);
  const closed = await startFakeSlack();
  const url = closed.url;
  await closed.close();
  const err = await createSender(account, { SLACK_API_URL: url }, limits)
    .send({ externalId: "E6", type: "group" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(err instanceof PlatformError);
  assert.deepEqual([err.platform, err.code, err.retryable], ["slack", "network", true]);
  assert.equal(driver.name, "slack");
  assert.equal(driver.createSender, createSender);
});
