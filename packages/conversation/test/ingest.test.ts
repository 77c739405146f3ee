import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChannelAccount, InboundEvent } from "@cb/core";
import { createPool } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs, LEVEL } from "@cb/logging/testing";
import { statusLockKey } from "../src/expand.ts";
import { createIngestor, expandInbound, EXPAND_INBOUND, sendReplies, type Ingestor } from "../src/index.ts";

let t: TestDatabase;
let account: ChannelAccount;
// The two ways a write goes, each forced: as messages at once (light load), to the inbox (heavy load).
let direct: Ingestor;
let inbox: Ingestor;

const message = (n: number, chat = "chat-1"): InboundEvent => ({
  type: "message",
  raw: { update_id: n },
  message: {
    channel: "telegram",
    platformEventId: String(n),
    platformMessageId: String(n),
    conversation: { externalId: chat, type: "private" },
    sender: { externalId: chat },
    sentAt: new Date(1_700_000_000_000 + n * 1000).toISOString(),
    text: `message ${n}`,
  },
});

before(async () => {
  t = await createTestDatabase();
  const tenant = await t.db.tenant.create({ data: { name: "Acme" } });
  const row = await t.db.channelAccount.create({
    data: { tenantId: tenant.id, channel: "telegram", name: "bot", secrets: "sealed" },
  });
  account = { id: row.id, tenantId: tenant.id, channel: "telegram", config: {}, secrets: {} };
  direct = createIngestor({ connectionString: t.url, inboxAbove: Infinity });
  inbox = createIngestor({ connectionString: t.url, inboxAbove: 0 });
});
after(async () => {
  await direct.close();
  await inbox.close();
  await t.drop();
});

const jobs = (task = "handle-message") =>
  t.db.$queryRawUnsafe<
    { queue_name: string; message_id: string; key: string | null; locked_at: Date | null; priority: number }[]
  >(
    `SELECT q.queue_name, j.payload->>'messageId' AS message_id, j.key, j.locked_at, j.priority FROM graphile_worker._private_jobs j
     JOIN graphile_worker._private_tasks k ON k.id = j.task_id
     LEFT JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id WHERE k.identifier = $1 ORDER BY j.id`,
    task,
  );
const waiting = () => t.db.inboundBatch.count({ where: { error: null } });
const clear = async () => {
  await t.db.message.deleteMany();
  await t.db.conversation.deleteMany();
  await t.db.inboundBatch.deleteMany();
  await t.db.$executeRawUnsafe(`DELETE FROM graphile_worker._private_jobs`);
};

async function assertQueuedInOrder(chats: number, perChat: number) {
  const queued = await jobs();
  assert.equal(queued.length, chats * perChat);
  const messages = await t.db.message.findMany({ select: { id: true, dedupeKey: true } });
  const keyOf = new Map(messages.map((m) => [m.id, Number(m.dedupeKey)]));
  for (let chat = 0; chat < chats; chat++) {
    const conversation = await t.db.conversation.findFirstOrThrow({ where: { externalId: `chat-${chat}` } });
    const order = queued
      .filter((j) => j.queue_name === `conversation:${conversation.id}`)
      .map((j) => keyOf.get(j.message_id)!);
    assert.equal(order.length, perChat);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
    // And they are answered in that order (arrival).
    const answered = await t.db.message.findMany({
      where: { conversationId: conversation.id },
      orderBy: { arrival: "asc" },
      select: { dedupeKey: true },
    });
    assert.deepEqual(
      answered.map((m) => Number(m.dedupeKey)),
      [...order].sort((a, b) => a - b),
    );
    assert.equal(
      conversation.lastInboundAt?.toISOString(),
      new Date(1_700_000_000_000 + Math.max(...order) * 1000).toISOString(),
    );
  }
}

test("light load: concurrent requests share a transaction that stores messages and queues each conversation's jobs in arrival order", async () => {
  await clear();
  const before = direct.stats();
  await Promise.all(Array.from({ length: 60 }, (_, i) => direct.ingest(account, [message(i + 1, `chat-${i % 3}`)])));
  const after = direct.stats();
  assert.ok(after.transactions - before.transactions < 60);
  assert.equal(after.inboxAppends, 0);
  assert.equal(await waiting(), 0);
  assert.equal(await t.db.message.count(), 60);
  await assertQueuedInOrder(3, 20);
});

test("heavy load: concurrent requests share one inbox row; one expansion job waits; expanding gives the same messages and jobs", async () => {
  await clear();
  const before = inbox.stats().inboxAppends;
  await Promise.all(Array.from({ length: 60 }, (_, i) => inbox.ingest(account, [message(i + 1, `chat-${i % 3}`)])));
  await inbox.settled();
  const appended = inbox.stats().inboxAppends - before;
  assert.ok(appended < 60);
  assert.equal(await waiting(), appended);
  assert.equal(await t.db.message.count(), 0, "acknowledged, stored in the inbox, not yet expanded");
  // However many rows, one expansion job waits, keyed so that wake-ups do not pile up; it goes
  // with the turns of conversations under way, ahead of other jobs (it may hold their messages).
  assert.deepEqual(
    (await jobs(EXPAND_INBOUND)).map((j) => [j.queue_name, j.key, j.locked_at, j.priority]),
    [["inbound", EXPAND_INBOUND, null, -1]],
  );

  assert.deepEqual(await expandInbound(t.pool), { rows: appended, setAside: [], more: false });
  assert.equal(await waiting(), 0);
  assert.equal(await t.db.message.count(), 60);
  assert.equal(await t.db.conversation.count(), 3);
  await assertQueuedInOrder(3, 20);
});

test("a wake-up enqueues another expansion once the waiting one has started", async () => {
  await clear();
  await inbox.ingest(account, [message(100)]);
  await inbox.settled();
  // A worker takes the waiting job: rows committed after it started need a job of their own.
  await t.db.$executeRawUnsafe(`UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = 'test'`);
  await inbox.ingest(account, [message(101)]);
  await inbox.settled();
  assert.deepEqual(
    (await jobs(EXPAND_INBOUND)).map((j) => j.locked_at === null),
    [false, true],
    "the started job, and a new one waiting",
  );
  await expandInbound(t.pool);
});

test("the ingestor switches to the inbox under load and back when it passes", async () => {
  const adaptive = createIngestor({ connectionString: t.url });
  try {
    for (let n = 0; n < 5; n++) await adaptive.ingest(account, [message(200 + n)]);
    assert.equal(adaptive.stats().inboxAppends, 0, "one request at a time: stored as messages at once");
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => adaptive.ingest(account, [message(1000 + i, `chat-${i % 7}`)])),
    );
    const underLoad = adaptive.stats().inboxAppends;
    assert.ok(underLoad > 0, "hundreds at once: appended to the inbox");
    // A worker expands the inbox (until it has, new messages would queue behind its rows).
    await adaptive.settled();
    await expandInbound(t.pool);
    for (let n = 0; n < 40; n++) {
      await adaptive.ingest(account, [message(900 + n)]);
      await adaptive.settled();
      await expandInbound(t.pool);
    }
    const { inboxAppends, transactions } = adaptive.stats();
    assert.ok(inboxAppends < underLoad + 40, "back to messages at once as the load passes");
    assert.ok(transactions > inboxAppends);
  } finally {
    await adaptive.close();
  }
  await expandInbound(t.pool);
  assert.equal(await t.db.message.count({ where: { dedupeKey: { in: ["200", "1299", "939"] } } }), 3);
});

test("while the inbox holds rows, a message written by any ingestor goes behind them, and is answered after them", async () => {
  await clear();
  await inbox.ingest(account, [message(600, "chat-order"), message(601, "chat-order")]);
  // The next message of the conversation reaches a server process under light load.
  await direct.ingest(account, [message(602, "chat-order")]);
  await inbox.settled();
  await direct.settled();
  assert.equal(await t.db.message.count(), 0, "not written ahead of the inbox");
  await expandInbound(t.pool);
  const stored = await t.db.message.findMany({ orderBy: { arrival: "asc" }, select: { dedupeKey: true } });
  assert.deepEqual(
    stored.map((m) => m.dedupeKey),
    ["600", "601", "602"],
  );
  // With the inbox empty again, messages are written at once, after those.
  await direct.ingest(account, [message(603, "chat-order")]);
  const last = await t.db.message.findFirstOrThrow({ orderBy: { arrival: "desc" }, select: { dedupeKey: true } });
  assert.equal(last.dedupeKey, "603");
});

test("a message of a conversation under way is queued ahead of new and dormant conversations' messages, either way", async () => {
  for (const [base, ingestor] of [
    [700, direct],
    [720, inbox],
  ] as const) {
    await clear();
    // Under way: a message a minute ago. Dormant: its last message an hour ago. New: never seen.
    await ingestor.ingest(account, [message(base, "chat-under-way"), message(base + 1, "chat-dormant")]);
    await ingestor.settled();
    await expandInbound(t.pool);
    await t.db.conversation.updateMany({
      where: { externalId: "chat-under-way" },
      data: { lastActivityAt: new Date(Date.now() - 60_000), createdAt: new Date(Date.now() - 60_000) },
    });
    await t.db.conversation.updateMany({
      where: { externalId: "chat-dormant" },
      data: { lastActivityAt: new Date(Date.now() - 3_600_000), createdAt: new Date(Date.now() - 3_600_000) },
    });
    await t.db.$executeRawUnsafe(`DELETE FROM graphile_worker._private_jobs`);
    // In one write, the new conversation's message first.
    await ingestor.ingest(account, [
      message(base + 2, "chat-new"),
      message(base + 3, "chat-dormant"),
      message(base + 4, "chat-under-way"),
    ]);
    await ingestor.settled();
    await expandInbound(t.pool);
    const queued = await t.db.$queryRawUnsafe<{ text: string; priority: number }[]>(
      `SELECT m.content->>'text' AS text, j.priority FROM graphile_worker._private_jobs j
       JOIN "Message" m ON m.id = (j.payload->>'messageId')::uuid ORDER BY j.priority, m.arrival`,
    );
    assert.deepEqual(queued, [
      { text: `message ${base + 4}`, priority: -1 },
      { text: `message ${base + 2}`, priority: 0 },
      { text: `message ${base + 3}`, priority: 0 },
    ]);
  }
});

test("redelivery is stored once and queued once, even inside one batch, either way", async () => {
  for (const [n, ingestor] of [
    [500, direct],
    [501, inbox],
  ] as const) {
    const before = await t.db.message.count();
    const queued = (await jobs()).length;
    await Promise.all([
      ingestor.ingest(account, [message(n)]),
      ingestor.ingest(account, [message(n)]),
      ingestor.ingest(account, [message(n), message(n)]),
    ]);
    await ingestor.ingest(account, [message(n)]);
    await ingestor.settled();
    await expandInbound(t.pool);
    assert.equal(await t.db.message.count(), before + 1);
    assert.equal((await jobs()).length, queued + 1);
  }
});

test("a redelivery expanded with the first copy keeps the first copy's place in line and time of arrival", async () => {
  await clear();
  // Three inbox rows expanded in one transaction: 520, then 521, then 520 again.
  for (const n of [520, 521, 520]) {
    await inbox.ingest(account, [message(n, "chat-0")]);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const stored = await t.db.inboundBatch.findMany({ orderBy: { id: "asc" } });
  assert.equal(stored.length, 3);
  await expandInbound(t.pool);
  await assertQueuedInOrder(1, 2);
  const first = await t.db.message.findFirstOrThrow({ where: { dedupeKey: "520" } });
  assert.equal(first.createdAt.toISOString(), stored[0]!.receivedAt.toISOString());
});

test("a write waits while empty job queues are being collected, so its jobs never land in a deleted queue", async () => {
  const collector = await t.pool.connect();
  try {
    await collector.query("BEGIN");
    await collector.query(`SELECT pg_advisory_xact_lock(hashtext('graphile-worker:queues'))`);
    const written = direct.ingest(account, [message(530, "chat-gate")]);
    const early = await Promise.race([
      written.then(() => "written"),
      new Promise((resolve) => setTimeout(resolve, 200, "waiting")),
    ]);
    assert.equal(early, "waiting");
    await collector.query("COMMIT");
    await written;
  } finally {
    collector.release();
  }
  const { rows } = await t.pool.query(
    `SELECT count(*)::int AS n FROM graphile_worker._private_jobs j WHERE j.job_queue_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM graphile_worker._private_job_queues q WHERE q.id = j.job_queue_id)`,
  );
  assert.equal(rows[0].n, 0);
});

test("a request that cannot be stored fails alone; the rest of its batch is stored and acknowledged", async () => {
  const before = await t.db.message.count();
  // A driver bug: a message without the platform id that every message's dedupe key comes from.
  const broken = message(601);
  if (broken.type === "message") delete (broken.message as { platformEventId?: string }).platformEventId;
  const results = await Promise.allSettled([
    direct.ingest(account, [message(600)]),
    direct.ingest(account, [broken]),
    direct.ingest(account, [message(602)]),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "rejected", "fulfilled"],
  );
  assert.equal(await t.db.message.count(), before + 2);
});

test("text PostgreSQL cannot hold (NUL, a lone surrogate) is cleaned rather than refused, either way", async () => {
  for (const [n, ingestor] of [
    [550, direct],
    [551, inbox],
  ] as const) {
    const odd = message(n);
    if (odd.type === "message") odd.message.text = "a\u0000b\ud800c";
    await ingestor.ingest(account, [odd]);
    assert.deepEqual((await expandInbound(t.pool)).setAside, []);
    const stored = await t.db.message.findFirstOrThrow({ where: { dedupeKey: String(n) } });
    assert.equal((stored.content as { text: string }).text, "ab\ufffdc");
  }
});

test("an inbox row that cannot be expanded is set aside with its error; the rows around it expand", async () => {
  const before = await t.db.message.count();
  await inbox.ingest(account, [message(610)]);
  // As if appended by a faulty release: a message without the dedupe key every message row needs.
  const bad = [
    {
      accountId: account.id,
      tenantId: account.tenantId,
      events: [
        { ...message(611), message: { conversation: { externalId: "chat-1" }, sentAt: new Date().toISOString() } },
      ],
    },
  ];
  const [{ id: badId }] = await t.db.$queryRawUnsafe<[{ id: bigint }]>(
    `INSERT INTO "InboundBatch" (events) VALUES ($1::json) RETURNING id`,
    JSON.stringify(bad),
  );
  await inbox.ingest(account, [message(612)]);
  const result = await expandInbound(t.pool);
  assert.deepEqual(
    result.setAside.map((r) => r.id),
    [String(badId)],
  );
  assert.match(result.setAside[0]!.error, /null value in column "dedupeKey"/);
  assert.equal(await t.db.message.count(), before + 2);
  const kept = await t.db.inboundBatch.findUniqueOrThrow({ where: { id: badId } });
  assert.match(kept.error!, /dedupeKey/);
  assert.deepEqual(kept.events, bad);
  // Set aside means skipped from now on, not retried forever.
  await inbox.ingest(account, [message(613)]);
  assert.deepEqual(await expandInbound(t.pool), { rows: 1, setAside: [], more: false });
  await t.db.inboundBatch.delete({ where: { id: badId } });
});

test("inbox messages of an account deleted before they were expanded are dropped with it", async () => {
  const tenant = await t.db.tenant.create({ data: { name: "Gone" } });
  const row = await t.db.channelAccount.create({
    data: { tenantId: tenant.id, channel: "telegram", name: "gone", secrets: "sealed" },
  });
  await inbox.ingest({ ...account, id: row.id, tenantId: tenant.id }, [message(700)]);
  await t.db.channelAccount.delete({ where: { id: row.id } });
  assert.deepEqual(await expandInbound(t.pool), { rows: 1, setAside: [], more: false });
  assert.equal(await t.db.message.count({ where: { dedupeKey: "700" } }), 0);
});

test("an expansion round stops at its time budget with more to do", async () => {
  for (let n = 0; n < 3; n++) await inbox.ingest(account, [message(800 + n)]);
  assert.deepEqual(await expandInbound(t.pool, { rowsPerTransaction: 1, budgetMs: 0 }), {
    rows: 1,
    setAside: [],
    more: true,
  });
  assert.deepEqual(await expandInbound(t.pool, { rowsPerTransaction: 1 }), { rows: 2, setAside: [], more: false });
});

test("delivery reports move an outbound message forward only; failed always wins; through the inbox too", async () => {
  const conversation = await t.db.conversation.findFirstOrThrow();
  const out = await t.db.message.create({
    data: {
      tenantId: account.tenantId,
      channelAccountId: account.id,
      conversationId: conversation.id,
      direction: "out",
      dedupeKey: "x:0",
      platformMessageId: "wamid.1",
      content: {},
      status: "sent",
    },
  });
  const report = (state: "sent" | "delivered" | "read" | "failed"): InboundEvent => ({
    type: "status",
    raw: {},
    status: {
      channel: "whatsapp",
      platformMessageId: "wamid.1",
      state,
      at: new Date().toISOString(),
      ...(state === "failed" ? { error: { code: "131047", message: "Re-engagement message" } } : {}),
    },
  });
  await direct.ingest(account, [report("read")]);
  await direct.ingest(account, [report("delivered")]);
  assert.equal((await t.db.message.findUniqueOrThrow({ where: { id: out.id } })).status, "read");
  await inbox.ingest(account, [report("failed")]);
  assert.equal(
    (await t.db.message.findUniqueOrThrow({ where: { id: out.id } })).status,
    "read",
    "applied when expanded",
  );
  await expandInbound(t.pool);
  const failed = await t.db.message.findUniqueOrThrow({ where: { id: out.id } });
  assert.equal(failed.status, "failed");
  assert.deepEqual(failed.error, { code: "131047", message: "Re-engagement message" });
});

test("a delivery report that arrives before the sender recorded the message's id is applied once it is", async () => {
  const conversation = await t.db.conversation.findFirstOrThrow();
  await direct.ingest(account, [
    {
      type: "status",
      raw: {},
      status: { channel: "whatsapp", platformMessageId: "wamid.early", state: "read", at: new Date().toISOString() },
    },
  ]);
  assert.equal(await t.db.deliveryReport.count(), 1);
  const sender = { send: async () => [{ platformMessageId: "wamid.early", raw: {} }] };
  await sendReplies(
    t.pool,
    sender,
    {
      tenantId: account.tenantId,
      channelAccountId: account.id,
      conversationId: conversation.id,
      to: { externalId: "chat-1", type: "private" },
    },
    [{ type: "text", text: "hi" }],
    { key: "early" },
  );
  const message = await t.db.message.findFirstOrThrow({ where: { platformMessageId: "wamid.early" } });
  assert.equal(message.status, "read");
  assert.equal(await t.db.deliveryReport.count(), 0);
});

test("a message is stored as it came: its platform ids, its normalized content and the platform's payload, either way", async () => {
  for (const [n, ingestor] of [
    [1100, direct],
    [1101, inbox],
  ] as const) {
    const event = message(n, "chat-stored");
    await ingestor.ingest(account, [event]);
    await expandInbound(t.pool);
    const stored = await t.db.message.findFirstOrThrow({ where: { dedupeKey: String(n) } });
    assert.equal(stored.platformMessageId, String(n));
    assert.deepEqual(stored.raw, { update_id: n });
    assert.deepEqual(stored.content, event.type === "message" ? event.message : null);
    assert.deepEqual([stored.direction, stored.status, stored.tenantId], ["in", "received", account.tenantId]);
  }
  const bare = message(1102, "chat-stored");
  if (bare.type === "message") delete bare.message.platformMessageId;
  await direct.ingest(account, [{ ...bare, raw: undefined }]);
  const stored = await t.db.message.findFirstOrThrow({ where: { dedupeKey: "1102" } });
  assert.equal(stored.platformMessageId, null);
  assert.equal(stored.raw, null);
});

test("a read watermark marks what was sent to that chat up to then as read, either way; nothing later, pending or failed", async () => {
  await direct.ingest(account, [message(1200, "chat-read"), message(1201, "chat-other")]);
  const conversation = await t.db.conversation.findFirstOrThrow({ where: { externalId: "chat-read" } });
  const other = await t.db.conversation.findFirstOrThrow({ where: { externalId: "chat-other" } });
  const upTo = new Date(Date.now() - 60_000);
  const out = (conversationId: string, key: string, status: string, createdAt: Date) =>
    t.db.message.create({
      data: {
        tenantId: account.tenantId,
        channelAccountId: account.id,
        conversationId,
        direction: "out",
        dedupeKey: key,
        content: {},
        status,
        createdAt,
      },
    });
  const before = new Date(upTo.getTime() - 1000);
  const rows = [
    await out(conversation.id, "r:sent", "sent", before),
    await out(conversation.id, "r:delivered", "delivered", upTo),
    await out(conversation.id, "r:pending", "pending", before),
    await out(conversation.id, "r:failed", "failed", before),
    await out(conversation.id, "r:later", "sent", new Date(upTo.getTime() + 1000)),
    await out(other.id, "r:other", "sent", before),
  ];
  const read = (chat: string, at: Date): InboundEvent => ({
    type: "read",
    raw: {},
    read: { channel: "messenger", conversationExternalId: chat, upTo: at.toISOString() },
  });
  await direct.ingest(account, [read("chat-read", upTo)]);
  const statuses = async () =>
    (await Promise.all(rows.map((r) => t.db.message.findUniqueOrThrow({ where: { id: r.id } })))).map((m) => m.status);
  assert.deepEqual(await statuses(), ["read", "read", "pending", "failed", "sent", "sent"]);
  await inbox.ingest(account, [read("chat-other", upTo)]);
  assert.equal((await statuses())[5], "sent", "applied when expanded");
  await expandInbound(t.pool);
  assert.deepEqual(await statuses(), ["read", "read", "pending", "failed", "sent", "read"]);
});

const report = (id: string | null, state: "sent" | "delivered" | "read" | "failed"): InboundEvent => ({
  type: "status",
  raw: {},
  status: { channel: "whatsapp", platformMessageId: id as string, state, at: new Date().toISOString() },
});

test("a request is stored whole or not at all, whatever it holds and whoever shares its write", async () => {
  const conversation = await t.db.conversation.findFirstOrThrow({ where: { externalId: "chat-read" } });
  const sent = await t.db.message.create({
    data: {
      tenantId: account.tenantId,
      channelAccountId: account.id,
      conversationId: conversation.id,
      direction: "out",
      dedupeKey: "whole:0",
      platformMessageId: "wamid.whole",
      content: {},
      status: "sent",
    },
  });
  // A report without the message id it is about cannot be kept (a driver bug): its request fails.
  const results = await Promise.allSettled([
    direct.ingest(account, [message(1300, "chat-whole")]),
    direct.ingest(account, [report("wamid.whole", "read"), report(null, "delivered")]),
    direct.ingest(account, [message(1301, "chat-whole"), report(null, "read")]),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "rejected", "rejected"],
  );
  assert.equal(await t.db.message.count({ where: { dedupeKey: "1300" } }), 1);
  assert.equal((await t.db.message.findUniqueOrThrow({ where: { id: sent.id } })).status, "sent", "no part of it");
  assert.equal(await t.db.message.count({ where: { dedupeKey: "1301" } }), 0, "nor of this one");
});

/** Holds an advisory lock in a transaction of its own until `release` is called. */
async function holding(key: string) {
  const client = await t.pool.connect();
  await client.query("BEGIN");
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [key]);
  return async () => {
    await client.query("COMMIT");
    client.release();
  };
}
const stillWaiting = (work: Promise<unknown>) =>
  Promise.race([work.then(() => "done"), new Promise((resolve) => setTimeout(resolve, 300, "waiting"))]);

test("a delivery report and the sender's record of that message's id take turns under one lock", async () => {
  const conversation = await t.db.conversation.findFirstOrThrow({ where: { externalId: "chat-read" } });
  const release = await holding(statusLockKey(account.id, "wamid.turns"));
  let reported: Promise<void>;
  let recorded: Promise<unknown>;
  try {
    reported = direct.ingest(account, [report("wamid.turns", "delivered")]);
    assert.equal(await stillWaiting(reported), "waiting", "the report waits for the lock");
    const sender = { send: async () => [{ platformMessageId: "wamid.turns", raw: {} }] };
    recorded = sendReplies(
      t.pool,
      sender,
      {
        tenantId: account.tenantId,
        channelAccountId: account.id,
        conversationId: conversation.id,
        to: { externalId: "chat-read", type: "private" },
      },
      [{ type: "text", text: "hi" }],
      { key: "turns" },
    );
    assert.equal(await stillWaiting(recorded), "waiting", "so does the sender's record of the id");
  } finally {
    await release();
  }
  await Promise.all([reported!, recorded!]);
  const sent = await t.db.message.findFirstOrThrow({ where: { platformMessageId: "wamid.turns" } });
  assert.equal(sent.status, "delivered", "the report is applied, whichever came first");
  assert.equal(await t.db.deliveryReport.count({ where: { platformMessageId: "wamid.turns" } }), 0);
});

test("expansions take turns: one waits while another holds the inbox", async () => {
  await inbox.ingest(account, [message(1400, "chat-turns")]);
  const release = await holding(EXPAND_INBOUND);
  let expanding: Promise<unknown>;
  try {
    expanding = expandInbound(t.pool);
    assert.equal(await stillWaiting(expanding), "waiting");
  } finally {
    await release();
  }
  assert.equal(((await expanding!) as { rows: number }).rows, 1);
});

test("a failure that is not the row's (here a lock wait timing out) fails the expansion for a retry and sets nothing aside", async () => {
  await inbox.ingest(account, [message(1500, "chat-timeout")]);
  const impatient = createPool(`${t.url}?options=${encodeURIComponent("-c lock_timeout=200")}`, { max: 1 });
  const release = await holding(EXPAND_INBOUND);
  try {
    await assert.rejects(expandInbound(impatient), (err: { code?: string }) => err.code === "55P03");
  } finally {
    await release();
    await impatient.end();
  }
  assert.equal(await t.db.inboundBatch.count({ where: { error: { not: null } } }), 0);
  assert.deepEqual(await expandInbound(t.pool), { rows: 1, setAside: [], more: false });
});

test("while an expansion job waits, a web process only looks: it does not enqueue it again", async () => {
  await t.db.$executeRawUnsafe(`DELETE FROM graphile_worker._private_jobs`);
  await inbox.ingest(account, [message(1600, "chat-wait")]);
  await inbox.settled();
  await inbox.ingest(account, [message(1601, "chat-wait")]);
  await inbox.settled();
  const [job, ...more] = await t.db.$queryRawUnsafe<{ revision: number }[]>(
    `SELECT j.revision FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks k ON k.id = j.task_id WHERE k.identifier = $1`,
    EXPAND_INBOUND,
  );
  assert.equal(more.length, 0);
  assert.equal(job!.revision, 0, "never updated by a second enqueue");
  await expandInbound(t.pool);
});

test("a wake-up that fails is logged and the request still acknowledged: the rows are stored, the sweep expands them", async () => {
  const { logger, lines } = captureLogs();
  const logged = createIngestor({ connectionString: t.url, inboxAbove: 0, logger });
  await t.db.$executeRawUnsafe(`ALTER VIEW graphile_worker.jobs RENAME TO jobs_away`);
  try {
    await logged.ingest(account, [message(1700, "chat-wake")]);
    await logged.settled();
  } finally {
    await t.db.$executeRawUnsafe(`ALTER VIEW graphile_worker.jobs_away RENAME TO jobs`);
    await logged.close();
  }
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, LEVEL.error);
  assert.equal(lines[0]!.msg, "could not enqueue the inbox's expansion; the worker's sweep will");
  assert.match((lines[0]!.err as { message: string }).message, /jobs/);
  assert.equal(await waiting(), 1);
  await expandInbound(t.pool);
  assert.equal(await t.db.message.count({ where: { dedupeKey: "1700" } }), 1);
});

test("group commit: two writes in flight at most; requests arriving meanwhile share the next; settled and close wait for them", async () => {
  const ingestor = createIngestor({ connectionString: t.url, inboxAbove: Infinity });
  const before = ingestor.stats();
  const release = await holding("graphile-worker:queues");
  const requests: Promise<void>[] = [];
  let settled: Promise<void>;
  try {
    const tick = () => new Promise((resolve) => setTimeout(resolve, 20));
    for (let n = 0; n < 10; n++) {
      requests.push(ingestor.ingest(account, [message(1800 + n, "chat-group")]));
      await tick();
    }
    const { rows } = await t.pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    assert.equal(rows[0].n, 2, "two writes wait on the database; the other eight wait in line");
    settled = ingestor.settled();
    assert.equal(await stillWaiting(settled), "waiting", "settled waits for the writes in flight");
  } finally {
    await release();
  }
  await Promise.all(requests);
  await settled!;
  const after = ingestor.stats();
  assert.equal(after.transactions - before.transactions, 3, "the eight that waited went in one write");
  assert.equal(after.requests - before.requests, 10);
  assert.ok(after.writeMs - before.writeMs >= 300, "the time the writes took, waiting included");
  assert.equal(after.inboxAppends, 0);

  // close() lets what was accepted finish, then lets go of its connections.
  const last = ingestor.ingest(account, [message(1810, "chat-group")]);
  await ingestor.close();
  assert.equal(await t.db.message.count({ where: { dedupeKey: "1810" } }), 1);
  await last;
  await assert.rejects(ingestor.ingest(account, [message(1811, "chat-group")]));
});

test("an empty request is acknowledged without a write", async () => {
  const before = direct.stats().transactions;
  await direct.ingest(account, []);
  assert.equal(direct.stats().transactions, before);
});
