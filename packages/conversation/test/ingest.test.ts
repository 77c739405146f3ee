import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChannelAccount, InboundEvent } from "@cb/core";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createIngestor, type Ingestor } from "../src/index.ts";

let t: TestDatabase;
let ingestor: Ingestor;
let account: ChannelAccount;

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
  const row = await t.db.channelAccount.create({ data: { tenantId: tenant.id, channel: "telegram", name: "bot", secrets: "sealed" } });
  account = { id: row.id, tenantId: tenant.id, channel: "telegram", config: {}, secrets: {} };
  ingestor = createIngestor({ connectionString: t.url });
});
after(async () => {
  await ingestor.close();
  await t.drop();
});

const jobs = () =>
  t.db.$queryRawUnsafe<{ queue_name: string; message_id: string }[]>(
    `SELECT q.queue_name, j.payload->>'messageId' AS message_id FROM graphile_worker._private_jobs j
     LEFT JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id ORDER BY j.id`,
  );

test("concurrent requests share a transaction; each conversation's jobs queue in arrival order", async () => {
  await Promise.all(Array.from({ length: 60 }, (_, i) => ingestor.ingest(account, [message(i + 1, `chat-${i % 3}`)])));
  assert.equal(await t.db.message.count(), 60);
  assert.equal(await t.db.conversation.count(), 3);
  const queued = await jobs();
  assert.equal(queued.length, 60);
  const messages = await t.db.message.findMany({ select: { id: true, dedupeKey: true } });
  const keyOf = new Map(messages.map((m) => [m.id, Number(m.dedupeKey)]));
  for (const chat of [0, 1, 2]) {
    const conversation = await t.db.conversation.findFirstOrThrow({ where: { externalId: `chat-${chat}` } });
    const order = queued.filter((j) => j.queue_name === `conversation:${conversation.id}`).map((j) => keyOf.get(j.message_id)!);
    assert.equal(order.length, 20);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    assert.equal(conversation.lastInboundAt?.toISOString(), new Date(1_700_000_000_000 + Math.max(...order) * 1000).toISOString());
  }
});

test("redelivery is stored once and queued once, even inside one batch", async () => {
  const before = await t.db.message.count();
  await Promise.all([ingestor.ingest(account, [message(500)]), ingestor.ingest(account, [message(500)]), ingestor.ingest(account, [message(500), message(500)])]);
  await ingestor.ingest(account, [message(500)]);
  assert.equal(await t.db.message.count(), before + 1);
  assert.equal((await jobs()).length, before + 1);
});

test("a request that cannot be stored fails alone; the rest of its batch is stored and acknowledged", async () => {
  const before = await t.db.message.count();
  const ghost: ChannelAccount = { ...account, id: "0b0b0b0b-0000-4000-8000-000000000000" };
  const results = await Promise.allSettled([ingestor.ingest(account, [message(600)]), ingestor.ingest(ghost, [message(601)]), ingestor.ingest(account, [message(602)])]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.equal(await t.db.message.count(), before + 2);
  assert.equal(await t.db.message.count({ where: { dedupeKey: "601" } }), 0);
});

test("delivery reports move an outbound message forward only; failed always wins", async () => {
  const conversation = await t.db.conversation.findFirstOrThrow();
  const out = await t.db.message.create({
    data: { tenantId: account.tenantId, channelAccountId: account.id, conversationId: conversation.id, direction: "out", dedupeKey: "x:0", platformMessageId: "wamid.1", content: {}, status: "sent" },
  });
  const report = (state: "sent" | "delivered" | "read" | "failed"): InboundEvent => ({
    type: "status",
    raw: {},
    status: { channel: "whatsapp", platformMessageId: "wamid.1", state, at: new Date().toISOString(), ...(state === "failed" ? { error: { code: "131047", message: "Re-engagement message" } } : {}) },
  });
  await ingestor.ingest(account, [report("read")]);
  await ingestor.ingest(account, [report("delivered")]);
  assert.equal((await t.db.message.findUniqueOrThrow({ where: { id: out.id } })).status, "read");
  await ingestor.ingest(account, [report("failed")]);
  const failed = await t.db.message.findUniqueOrThrow({ where: { id: out.id } });
  assert.equal(failed.status, "failed");
  assert.deepEqual(failed.error, { code: "131047", message: "Re-engagement message" });
});

test("a delivery report that arrives before the sender recorded the message's id is applied once it is", async () => {
  const { sendReplies } = await import("../src/index.ts");
  const conversation = await t.db.conversation.findFirstOrThrow();
  await ingestor.ingest(account, [{ type: "status", raw: {}, status: { channel: "whatsapp", platformMessageId: "wamid.early", state: "read", at: new Date().toISOString() } }]);
  assert.equal(await t.db.deliveryReport.count(), 1);
  const sender = { send: async () => [{ platformMessageId: "wamid.early", raw: {} }] };
  await sendReplies(t.pool, sender, { tenantId: account.tenantId, channelAccountId: account.id, conversationId: conversation.id, to: { externalId: "chat-1", type: "private" } }, [{ type: "text", text: "hi" }], { key: "early" });
  const message = await t.db.message.findFirstOrThrow({ where: { platformMessageId: "wamid.early" } });
  assert.equal(message.status, "read");
  assert.equal(await t.db.deliveryReport.count(), 0);
});
