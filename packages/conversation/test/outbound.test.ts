import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PlatformError, type ChannelSender, type Reply } from "@cb/core";
import pg from "pg";
import { sendReplies, type OutboundTarget } from "../src/index.ts";
import { sendWithRetry } from "../src/send-retry.ts";
import { setUp, type Setup } from "./support.ts";

let s: Setup;
let conversationId: string;

before(async () => {
  s = await setUp();
  await s.receive({ chat: "100" });
  conversationId = (await s.t.db.conversation.findFirstOrThrow()).id;
});
after(() => s.close());

// Each test writes to its own chat: Telegram allows about one message a second per chat.
const target = (chat: string): OutboundTarget => ({
  tenantId: s.tenantId,
  channelAccountId: s.account.id,
  conversationId,
  to: { externalId: chat, type: "private" },
});
const text = (t: string): Reply => ({ type: "text", text: t });
const sentTo = (chat: string) =>
  s.telegram.calls.filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === chat);
const row = (key: string) =>
  s.t.db.message.findFirstOrThrow({ where: { channelAccountId: s.account.id, direction: "out", dedupeKey: key } });

/** A sender that fails as told, then succeeds; it records when each attempt was made. */
function scripted(failures: Error[]): ChannelSender & { attempts: number[] } {
  const attempts: number[] = [];
  return {
    attempts,
    async send() {
      attempts.push(performance.now());
      const failure = failures.shift();
      if (failure) throw failure;
      return [{ platformMessageId: `m${attempts.length}`, raw: { ok: true } }];
    },
  };
}
const retryable = (retryAfterMs?: number) => new PlatformError("test", "429", "Too Many Requests", true, retryAfterMs);

test("each reply is sent once and recorded with the platform's id; the same job run again sends nothing", async () => {
  const sender = await s.accounts.sender(s.account.id);
  const replies = [text("one"), text("two")];
  const first = await sendReplies(s.t.pool, sender, target("201"), replies, { key: "job-1" });
  assert.deepEqual(
    sentTo("201").map((c) => c.params.text),
    ["one", "two"],
  );
  const ids = sentTo("201").map((c) => String((c.result as { message_id: number }).message_id));
  assert.deepEqual(
    first.map((r) => [r.status, r.platformMessageId, r.error]),
    ids.map((id) => ["sent", id, null]),
  );
  const stored = [await row("job-1:0"), await row("job-1:1")];
  assert.deepEqual(
    stored.map((m) => [m.id, m.status, m.platformMessageId, m.conversationId, m.tenantId]),
    first.map((r, n) => [r.id, "sent", ids[n], conversationId, s.tenantId]),
  );
  assert.deepEqual(stored[0]!.content, replies[0]);
  assert.equal((stored[0]!.raw as { message_id: number }[])[0]!.message_id, Number(ids[0]));

  const again = await sendReplies(s.t.pool, sender, target("201"), replies, { key: "job-1" });
  assert.equal(sentTo("201").length, 2, "a retried job does not send twice");
  assert.deepEqual(again, first);
});

test("a run that meets a concurrent run's rows (stored, not yet committed) waits for them and sends them once", async () => {
  const sender = await s.accounts.sender(s.account.id);
  // The other run stored the rows in its transaction and has not committed yet.
  const other = await s.t.pool.connect();
  await other.query("BEGIN");
  await other.query(
    `INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", content, status, "updatedAt")
     VALUES (gen_random_uuid(), $1, $2, $3, 'out', 'job-concurrent:0', $4::jsonb, 'pending', now())`,
    [s.tenantId, s.account.id, conversationId, JSON.stringify(text("theirs"))],
  );
  const sending = sendReplies(s.t.pool, sender, target("209"), [text("ours")], { key: "job-concurrent" });
  await new Promise((resolve) => setTimeout(resolve, 200));
  await other.query("COMMIT");
  other.release();
  const [result] = await sending;
  assert.equal(result!.status, "sent");
  assert.deepEqual(
    sentTo("209").map((c) => c.params.text),
    ["theirs"],
    "the row as the other run stored it, once",
  );
});

test("a permanent refusal (4xx) is recorded on the message as failed with the platform's code, and never resent", async () => {
  const sender = await s.accounts.sender(s.account.id);
  s.telegram.failNext("sendMessage", { status: 403, description: "Forbidden: bot was blocked by the user" });
  const [result] = await sendReplies(s.t.pool, sender, target("202"), [text("hello")], { key: "job-2" });
  const error = { platform: "telegram", code: "403", message: "Forbidden: bot was blocked by the user" };
  assert.deepEqual(result, { id: result!.id, reply: text("hello"), status: "failed", platformMessageId: null, error });
  const stored = await row("job-2:0");
  assert.equal(stored.id, result!.id);
  assert.equal(stored.status, "failed");
  assert.deepEqual(stored.error, error);
  assert.equal(stored.platformMessageId, null);

  // The job is not retried for it, and a run that happens anyway reports the same failure.
  const [again] = await sendReplies(s.t.pool, sender, target("202"), [text("hello")], { key: "job-2" });
  assert.deepEqual(again, result);
  assert.equal(sentTo("202").length, 0);
});

test("a reply the channel cannot render is recorded as failed, and the replies after it still go", async () => {
  const sender = await s.accounts.sender(s.account.id);
  const tooLong: Reply = {
    type: "buttons",
    text: "Pick",
    buttons: [{ type: "postback", title: "A", payload: "x".repeat(65) }],
  };
  const results = await sendReplies(s.t.pool, sender, target("203"), [tooLong, text("after")], { key: "job-3" });
  assert.deepEqual(
    results.map((r) => r.status),
    ["failed", "sent"],
  );
  const stored = await row("job-3:0");
  assert.equal(stored.status, "failed");
  assert.equal((stored.error as { code: string }).code, "render_failed");
  assert.match((stored.error as { message: string }).message, /callback data is limited to 64 bytes/);
  assert.deepEqual(
    sentTo("203").map((c) => c.params.text),
    ["after"],
  );
});

test("a 429 with a short Retry-After is retried in place after that delay, and sent once", async () => {
  const sender = await s.accounts.sender(s.account.id);
  s.telegram.failNext("sendMessage", {
    status: 429,
    description: "Too Many Requests: retry after 1",
    retryAfter: 1,
  });
  const started = performance.now();
  const [result] = await sendReplies(s.t.pool, sender, target("204"), [text("patience")], { key: "job-4" });
  const elapsed = performance.now() - started;
  assert.equal(result!.status, "sent");
  assert.ok(elapsed >= 1000, `waited Telegram's retry_after (1 s), not ${Math.round(elapsed)} ms`);
  assert.ok(elapsed < 3000, `and not much longer (${Math.round(elapsed)} ms)`);
  assert.deepEqual(
    sentTo("204").map((c) => c.params.text),
    ["patience"],
  );
  assert.equal((await row("job-4:0")).status, "sent");
});

test("a Retry-After beyond the in-place bound (30 s) goes back to the job at once: the row stays pending for its retry", async () => {
  const sender = await s.accounts.sender(s.account.id);
  s.telegram.failNext("sendMessage", {
    status: 429,
    description: "Too Many Requests: retry after 31",
    retryAfter: 31,
  });
  const started = performance.now();
  const err = await sendReplies(s.t.pool, sender, target("205"), [text("later")], { key: "job-5" }).then(
    () => assert.fail("a long Retry-After must fail the job so that it is retried later"),
    (e: unknown) => e,
  );
  assert.ok(performance.now() - started < 1000, "not waited in place");
  assert.ok(err instanceof PlatformError);
  assert.equal(err.retryable, true);
  assert.equal(err.retryAfterMs, 31_000);
  assert.equal((await row("job-5:0")).status, "pending");

  // Every process's next send to that chat waits the platform's 31 s too.
  const { rows } = await s.t.pool.query(`SELECT "blockedUntil" FROM "SendBudget" WHERE key LIKE 'telegram:%:205'`);
  assert.ok(Number(rows[0]?.blockedUntil) - Date.now() > 29_000, "the chat is blocked for the 31 s, shared");
  // The job's retry, once they have passed, sends it once.
  await s.t.pool.query(`UPDATE "SendBudget" SET "blockedUntil" = 0`);
  const [result] = await sendReplies(s.t.pool, sender, target("205"), [text("later")], { key: "job-5" });
  assert.equal(result!.status, "sent");
  assert.equal(sentTo("205").length, 1);
});

test("in place, a send is tried five times at most, each after the platform's Retry-After", async () => {
  const fourTimes = scripted([retryable(50), retryable(50), retryable(50), retryable(50)]);
  const [ok] = await sendReplies(s.t.pool, fourTimes, target("206"), [text("fifth time")], { key: "job-6" });
  assert.equal(ok!.status, "sent");
  assert.equal(ok!.platformMessageId, "m5");
  assert.equal(fourTimes.attempts.length, 5);
  for (let n = 1; n < 5; n++) {
    const gap = fourTimes.attempts[n]! - fourTimes.attempts[n - 1]!;
    assert.ok(gap >= 49 && gap < 500, `attempt ${n + 1} after the 50 ms asked for, not ${Math.round(gap)} ms`);
  }

  const always = scripted(Array.from({ length: 6 }, () => retryable(10)));
  await assert.rejects(
    sendReplies(s.t.pool, always, target("206"), [text("never")], { key: "job-7" }),
    (e: unknown) => e instanceof PlatformError && e.retryable,
  );
  assert.equal(always.attempts.length, 5);
  assert.equal((await row("job-7:0")).status, "pending", "left for the job's own retry");
});

test("waits in place add up to 30 s at most: the one that would pass it goes back to the job at once", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const long = scripted([retryable(20_000), retryable(20_000)]);
  const outcome = sendWithRetry(long, { externalId: "212", type: "private" }, text("much later"), {}).then(
    () => assert.fail("the second 20 s would make 40 s of waiting"),
    (e: unknown) => e,
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(long.attempts.length, 1);
  t.mock.timers.tick(20_000);
  const err = await outcome;
  assert.ok(err instanceof PlatformError && err.retryAfterMs === 20_000);
  assert.equal(long.attempts.length, 2, "tried again after the first 20 s, not after the second");
});

test("without a Retry-After, a retryable failure waits a second before the next attempt", async () => {
  const once = scripted([new PlatformError("test", "502", "Bad Gateway", true)]);
  const [ok] = await sendReplies(s.t.pool, once, target("207"), [text("backoff")], { key: "job-8" });
  assert.equal(ok!.status, "sent");
  const gap = once.attempts[1]! - once.attempts[0]!;
  assert.ok(gap >= 999 && gap < 1500, `waited ${Math.round(gap)} ms`);
});

test("permanent failures are not retried in place", async () => {
  const refused = scripted([new PlatformError("test", "400", "Bad Request", false, 10)]);
  const [result] = await sendReplies(s.t.pool, refused, target("208"), [text("no")], { key: "job-9" });
  assert.equal(result!.status, "failed");
  assert.deepEqual(result!.error, { platform: "test", code: "400", message: "Bad Request" });
  assert.equal(refused.attempts.length, 1);
  const broken = scripted([new Error("cannot render")]);
  const [failed] = await sendReplies(s.t.pool, broken, target("208"), [text("no")], { key: "job-10" });
  assert.deepEqual(failed!.error, { code: "render_failed", message: "cannot render" });
  assert.equal(broken.attempts.length, 1);
});

test("a send the platform answers without an id is recorded as sent with none", async () => {
  const sender: ChannelSender = { send: async () => [{ platformMessageId: "", raw: {} }] };
  const [result] = await sendReplies(s.t.pool, sender, target("209"), [text("x")], { key: "job-11" });
  assert.deepEqual([result!.status, result!.platformMessageId], ["sent", null]);
  const nothing: ChannelSender = { send: async () => [] };
  const [none] = await sendReplies(s.t.pool, nothing, target("209"), [text("x")], { key: "job-12" });
  assert.equal(none!.platformMessageId, null);
  assert.equal((await row("job-12:0")).status, "sent");
});

test("delivery reports that came before the id was recorded: the furthest state is applied, a failure wins with its error", async () => {
  const report = (id: string, state: string, error?: object) =>
    s.t.db.deliveryReport.create({
      data: { channelAccountId: s.account.id, platformMessageId: id, state, ...(error ? { error } : {}) },
    });
  await report("wamid.a", "delivered");
  await report("wamid.a", "read");
  await report("wamid.a", "sent");
  await report("wamid.b", "read");
  await report("wamid.b", "failed", { code: "131047" });
  await report("wamid.b", "delivered");
  await report("wamid.c", "read");
  await report("wamid.d", "delivered");
  await report("wamid.d", "sent");
  await report("wamid.e", "sent");
  const ids = ["wamid.a", "wamid.b", "wamid.d", "wamid.e", "wamid.c"];
  const reporting: ChannelSender = {
    reportsDelivery: true,
    send: async () => [{ platformMessageId: ids.shift()!, raw: {} }],
  };
  await sendReplies(s.t.pool, reporting, target("210"), [text("a"), text("b"), text("d"), text("e")], {
    key: "job-13",
  });
  const [a, b, d, e] = await Promise.all([0, 1, 2, 3].map((n) => row(`job-13:${n}`)));
  assert.equal(a!.status, "read");
  assert.equal(a!.error, null);
  assert.equal(b!.status, "failed");
  assert.deepEqual(b!.error, { code: "131047" });
  assert.equal(d!.status, "delivered", "delivered is further than sent, whichever came first");
  assert.equal(e!.status, "sent");
  assert.equal(
    await s.t.db.deliveryReport.count({
      where: { platformMessageId: { in: ["wamid.a", "wamid.b", "wamid.d", "wamid.e"] } },
    }),
    0,
  );

  // A platform that sends no delivery reports: its sends are recorded as sent, nothing else read.
  const silent: ChannelSender = {
    reportsDelivery: false,
    send: async () => [{ platformMessageId: "wamid.c", raw: {} }],
  };
  await sendReplies(s.t.pool, silent, target("210"), [text("c")], { key: "job-14" });
  assert.equal((await row("job-14:0")).status, "sent");
});

test("the message a reply answers goes to the platform with it: in a Telegram group, the reply quotes it", async () => {
  const sender = await s.accounts.sender(s.account.id);
  const inGroup = { externalId: "-211", type: "group" as const };
  const asked = {
    channel: "telegram" as const,
    platformEventId: "u-211",
    platformMessageId: "5511",
    conversation: inGroup,
    sender: { externalId: "7" },
    sentAt: new Date().toISOString(),
    text: "@ShopBot hi",
  };
  await sendReplies(s.t.pool, sender, { ...target("-211"), to: inGroup }, [text("hello")], {
    key: "job-15",
    context: { inReplyTo: asked },
  });
  const [call] = s.telegram.calls.filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === "-211");
  assert.deepEqual(JSON.parse(JSON.stringify(call!.params.reply_parameters)), {
    message_id: 5511,
    allow_sending_without_reply: true,
  });
});

test("a send the platform accepted is recorded even when the database drops the connection recording it: retried, never resent", async () => {
  const sender = await s.accounts.sender(s.account.id);
  // While the platform answers, another session locks the reply's row; the record then waits on the
  // lock, and its connection is terminated (as by a database restart) before the lock goes.
  const locker = new pg.Client({ connectionString: s.t.url });
  await locker.connect();
  let terminated = 0;
  const terminateRecord = async () => {
    // Until the record waits on the lock: up to 15 s, as a loaded machine may take a while to get there.
    // Looked for from another session: within the locker's transaction, pg_stat_activity would show
    // the snapshot taken at its first look, from before the record started waiting.
    for (const deadline = Date.now() + 15_000; Date.now() < deadline && !terminated; ) {
      const { rows } = await s.t.pool.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%SET status = ''sent''%'`,
      );
      terminated += rows.filter((r) => r.done).length;
      if (!terminated) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await locker.query("ROLLBACK");
  };
  let terminating: Promise<void> | undefined;
  const interrupted: ChannelSender = {
    ...sender,
    async send(to, reply, context) {
      const sent = await sender.send(to, reply, context);
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM "Message" WHERE "dedupeKey" = 'job-16:0' FOR UPDATE`);
      terminating = terminateRecord();
      return sent;
    },
  };
  try {
    const [result] = await sendReplies(s.t.pool, interrupted, target("212"), [text("once")], { key: "job-16" });
    await terminating;
    assert.equal(terminated, 1, "the record's connection was terminated");
    assert.equal(result!.status, "sent");
    assert.equal(sentTo("212").length, 1, "sent once");
    const stored = await row("job-16:0");
    assert.equal(stored.status, "sent");
    assert.equal(stored.platformMessageId, String((sentTo("212")[0]!.result as { message_id: number }).message_id));
  } finally {
    await locker.end();
  }
});
