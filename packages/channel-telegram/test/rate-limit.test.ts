import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PlatformError, type ChannelAccount, type SendLimits } from "@cb/core";
import { simulatedClock, twoWorkersSendLimits, type TwoWorkers } from "@cb/core/testing";
import { startFakeTelegram, type FakeTelegram } from "@cb/fake-telegram";
import { createSender } from "../src/index.ts";

// The platforms' limits live in PostgreSQL; a second pool with limits of its own is a second worker.
let workers: TwoWorkers;
let limits: SendLimits;
let otherWorker: SendLimits;
before(async () => {
  workers = await twoWorkersSendLimits();
  ({ limits, otherWorker } = workers);
});
after(() => workers.close());

// Every test has a bot of its own: the limits are per bot, shared by every sender of it.
let fake: FakeTelegram;
const bot = (id: number): ChannelAccount => ({
  id: `a${id}`,
  tenantId: "t1",
  channel: "telegram",
  config: {},
  secrets: { botToken: `${id}:rate-token`, secretToken: "s" },
});
const sender = (id: number) => createSender(bot(id), { TELEGRAM_API_ROOT: fake.url }, limits);
const arrivals = (id: number, chat?: string) =>
  fake.calls.filter((c) => c.token === `${id}:rate-token` && (chat === undefined || c.params.chat_id === chat));

before(async () => {
  fake = await startFakeTelegram();
  for (const id of [801, 802, 803, 804, 805, 806, 807, 808, 809]) fake.addBot(`${id}:rate-token`);
});
after(() => fake.close());

test("messages to one chat go out a second apart, as Telegram allows; other chats are not held up", async () => {
  const s = sender(801);
  const to = (chat: string) => ({ externalId: chat, type: "private" as const });
  // A first call opens the connection, so that the measured ones are not slowed by it.
  await s.send(to("7000"), { type: "text", text: "warm" });
  await Promise.all([
    ...["one", "two", "three"].map((text) => s.send(to("7001"), { type: "text", text })),
    s.send(to("7002"), { type: "text", text: "other" }),
  ]);
  const chat = arrivals(801, "7001")
    .map((c) => c.at)
    .sort((a, b) => a - b);
  const other = arrivals(801, "7002")[0]!.at;
  // The limiter spaces the calls' starts 1.1 s apart (2.2 s for three); the fake times their
  // arrival, which a loaded machine delays unevenly. Unlimited, all three arrive within a few ms.
  assert.ok(chat[2]! - chat[0]! >= 1500, `same chat: the third ${chat[2]! - chat[0]!} ms after the first`);
  assert.ok(other - chat[0]! < 700, "another chat went out at once");
});

test("a bot sends at most 30 messages a second, whatever the chats", async () => {
  const s = sender(802);
  // 61 private chats, one message each: no chat limit applies, only the bot's, so three windows.
  await Promise.all(
    Array.from({ length: 61 }, (_, i) =>
      s.send({ externalId: String(9000 + i), type: "private" }, { type: "text", text: "hi" }),
    ),
  );
  const at = arrivals(802)
    .map((c) => c.at)
    .sort((a, b) => a - b);
  assert.equal(at.length, 61);
  // Ideally 1000 and 2000 ms; generous for a loaded machine. Unlimited, all 61 arrive within a few hundred ms.
  assert.ok(at[30]! - at[0]! >= 800, `the 31st ${at[30]! - at[0]!} ms after the first`);
  assert.ok(at[60]! - at[0]! >= 1700, `the 61st ${at[60]! - at[0]!} ms after the first`);
});

test("in a group, no more than 20 messages a minute (on a simulated clock)", async (t) => {
  const clock = simulatedClock(t, workers.database.pool, { stepMs: 100, maxMs: 120_000 });
  const s = sender(803);
  const group = { externalId: "-100200300", type: "group" as const };
  // All at once (a conversation's own replies go one after another; these are many senders').
  const sends = Array.from({ length: 22 }, (_, i) => s.send(group, { type: "text", text: `m${i}` }));
  await clock.run(Promise.all(sends));
  const calls = arrivals(803, group.externalId).sort((a, b) => a.at - b.at);
  assert.equal(calls.length, 22);
  const at = calls.map((c) => c.at - calls[0]!.at);
  for (let i = 1; i < 20; i++) assert.ok(at[i]! - at[i - 1]! >= 1000, `message ${i} ${at[i]! - at[i - 1]!} ms after`);
  // One a second would let the 21st go at 20 s; the group's budget holds it to a minute after the first.
  assert.ok(at[20]! >= 60_000, `the 21st ${at[20]} ms after the first`);
  assert.ok(at[21]! - at[20]! < 2_000, "then one a second again");
});

test("private chats have no minute budget (on a simulated clock)", async (t) => {
  const clock = simulatedClock(t, workers.database.pool, { stepMs: 100, maxMs: 120_000 });
  const s = sender(804);
  const chat = { externalId: "4242", type: "private" as const };
  const sends = Array.from({ length: 22 }, (_, i) => s.send(chat, { type: "text", text: `m${i}` }));
  await clock.run(Promise.all(sends));
  const at = arrivals(804, chat.externalId).map((c) => c.at);
  assert.ok(at[21]! - at[0]! < 30_000, `22 messages took ${at[21]! - at[0]!} ms`);
});

test("bots do not share limits, even when their ids begin alike (on a simulated clock)", async (t) => {
  const clock = simulatedClock(t, workers.database.pool, { stepMs: 100, maxMs: 120_000 });
  const start = Date.now();
  // Two bots, 30 chats each: each within its own 30 a second, so all at once.
  await clock.run(
    Promise.all(
      [805, 806].flatMap((id) =>
        Array.from({ length: 30 }, (_, i) =>
          sender(id).send({ externalId: String(8000 + i), type: "private" }, { type: "text", text: "hi" }),
        ),
      ),
    ),
  );
  const at = [...arrivals(805), ...arrivals(806)].map((c) => c.at - start);
  assert.equal(at.length, 60);
  assert.ok(Math.max(...at) < 1000, `the last after ${Math.max(...at)} ms`);
});

test("two workers sending as one bot together keep its 30 a second", async () => {
  const workers = [sender(807), createSender(bot(807), { TELEGRAM_API_ROOT: fake.url }, otherWorker)];
  // 31 private chats from each worker, one message each: only the bot's budget applies.
  await Promise.all(
    workers.flatMap((s, w) =>
      Array.from({ length: 31 }, (_, i) =>
        s.send({ externalId: String(9100 + 100 * w + i), type: "private" }, { type: "text", text: "hi" }),
      ),
    ),
  );
  const at = arrivals(807)
    .map((c) => c.at)
    .sort((a, b) => a - b);
  assert.equal(at.length, 62);
  // Ideally 1100 and 2200 ms (each second kept 100 ms longer), generous for a loaded machine; each
  // worker on its own budget would send all 62 within a few hundred ms.
  assert.ok(at[30]! - at[0]! >= 700, `the 31st ${at[30]! - at[0]!} ms after the first`);
  assert.ok(at[60]! - at[0]! >= 1600, `the 61st ${at[60]! - at[0]!} ms after the first`);
});

test("a 429 holds that bot's chat for retry_after in every worker; its other chats and other bots go on", async () => {
  const first = sender(808);
  const second = createSender(bot(808), { TELEGRAM_API_ROOT: fake.url }, otherWorker);
  const another = createSender(bot(809), { TELEGRAM_API_ROOT: fake.url }, otherWorker);
  const chat = (id: string) => ({ externalId: id, type: "private" as const });
  fake.failNext("sendMessage", { status: 429, description: "Too Many Requests: retry after 3", retryAfter: 3 });
  const refused = Date.now();
  await assert.rejects(
    first.send(chat("7301"), { type: "text", text: "refused" }),
    (err) => err instanceof PlatformError && err.retryAfterMs === 3000,
  );
  await Promise.all([
    second.send(chat("7301"), { type: "text", text: "same chat" }),
    second.send(chat("7302"), { type: "text", text: "other chat" }),
    another.send(chat("7301"), { type: "text", text: "other bot" }),
  ]);
  const at = (text: string) => fake.calls.find((c) => c.params.text === text)!.at - refused;
  assert.ok(at("same chat") >= 2950, `the same chat after ${at("same chat")} ms`);
  assert.ok(at("other chat") < 1000, `the bot's other chat after ${at("other chat")} ms`);
  assert.ok(at("other bot") < 1000, `another bot's chat of the same id after ${at("other bot")} ms`);
});
