import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { CONVERSATION_QUEUE_PREFIX, HANDLE_MESSAGE, scheduleNotification } from "@cb/conversation";
import { prismaSql } from "@cb/db";
import { startWorker } from "@cb/jobs";
import { startFixture, type Fixture } from "./scheduled-fixture.ts";

// A fulfillment's follow-up when it is due (scheduled by the turn: packages/conversation/test/followup.test.ts).
let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.stop());

let chat = 9000;
async function followup(
  shop: { tenantId: string },
  accountId: string,
  content: object,
  conversation: { lastInboundAt?: Date; mode?: string } = {},
) {
  const c = await f.t.db.conversation.create({
    data: { tenantId: shop.tenantId, channelAccountId: accountId, externalId: String(++chat), ...conversation },
  });
  const { id } = await f.t.db.$transaction((tx) =>
    scheduleNotification(prismaSql(tx), {
      tenantId: shop.tenantId,
      kind: "followup",
      dueAt: f.clock.now,
      conversationId: c.id,
      content,
    }),
  );
  await f.runDue(id);
  return {
    conversationId: c.id,
    externalId: c.externalId,
    notification: await f.t.db.notification.findUniqueOrThrow({ where: { id } }),
  };
}

test("a text follow-up is sent into its conversation; on WhatsApp outside the 24-hour window it is skipped with the reason", async () => {
  const s = await f.shop();
  f.clock.now = new Date("2027-04-01T12:00:00Z");
  const inside = await followup(
    s,
    s.telegram,
    { text: "How was your order?" },
    { lastInboundAt: new Date("2027-03-31T12:00:00Z") },
  );
  assert.deepEqual(
    f.sent.filter((m) => m.to.externalId === inside.externalId).map((m) => m.reply),
    [{ type: "text", text: "How was your order?" }],
  );
  assert.deepEqual([inside.notification.status, inside.notification.channelAccountId], ["sent", s.telegram]);
  const outside = await followup(
    s,
    s.whatsapp,
    { text: "How was it?" },
    { lastInboundAt: new Date("2027-03-30T12:00:00Z") },
  );
  assert.deepEqual(
    [outside.notification.status, outside.notification.reason],
    ["skipped", "whatsapp: outside the 24-hour window and no approved template"],
  );
  assert.equal(f.sent.filter((m) => m.to.externalId === outside.externalId).length, 0);
});

test("an event follow-up becomes a message of its conversation, answered by a turn in the conversation's queue", async () => {
  const s = await f.shop();
  f.clock.now = new Date("2027-04-02T12:00:00Z");
  const { conversationId, notification } = await followup(s, s.telegram, {
    event: "FEEDBACK_REQUEST",
    parameters: { ask: "stars" },
  });
  const [message, ...more] = await f.t.db.message.findMany({ where: { conversationId } });
  assert.equal(more.length, 0);
  const content = message!.content as Record<string, unknown>;
  assert.deepEqual(
    [message!.direction, message!.status, content.event, message!.dedupeKey, message!.arrival !== null],
    ["in", "received", { name: "FEEDBACK_REQUEST", parameters: { ask: "stars" } }, `followup:${notification.id}`, true],
  );
  assert.deepEqual(
    [notification.status, notification.messageId, notification.reason],
    ["sent", message!.id, "event FEEDBACK_REQUEST triggered in the conversation"],
  );
  const { rows } = await f.t.pool.query(
    `SELECT queue_name FROM graphile_worker.jobs v JOIN graphile_worker._private_jobs p USING (id)
     WHERE v.task_identifier = $1 AND p.payload->>'messageId' = $2`,
    [HANDLE_MESSAGE, message!.id],
  );
  assert.deepEqual(rows, [{ queue_name: `${CONVERSATION_QUEUE_PREFIX}${conversationId}` }]);
  const conversation = await f.t.db.conversation.findUniqueOrThrow({ where: { id: conversationId } });
  assert.equal(conversation.lastInboundAt, null, "not a customer's message: the 24-hour window stays as it was");
});

test("nothing for a customer who opted out, nor an event while an agent has the conversation", async () => {
  const s = await f.shop();
  f.clock.now = new Date("2027-04-03T12:00:00Z");
  const contact = await f.contact(s.tenantId, "out", s.telegram, String(chat + 1));
  await f.t.db.contact.update({ where: { id: contact.id }, data: { optedOutAt: new Date() } });
  const optedOut = await followup(s, s.telegram, { text: "Hi" }, { lastInboundAt: f.clock.now });
  const agent = await followup(s, s.telegram, { event: "FEEDBACK_REQUEST" }, { mode: "human" });
  assert.deepEqual(
    [optedOut.notification.status, optedOut.notification.reason, agent.notification.status, agent.notification.reason],
    ["skipped", "the contact opted out", "skipped", "the conversation is with an agent"],
  );
  assert.equal(
    await f.t.db.message.count({ where: { conversationId: { in: [optedOut.conversationId, agent.conversationId] } } }),
    0,
  );
});

test("a text follow-up due while a turn runs for its conversation is sent after the turn (the conversation's queue)", async () => {
  const s = await f.shop();
  f.clock.now = new Date("2027-04-04T12:00:00Z");
  const c = await f.t.db.conversation.create({
    data: { tenantId: s.tenantId, channelAccountId: s.telegram, externalId: "9500", lastInboundAt: f.clock.now },
  });
  const queue = `${CONVERSATION_QUEUE_PREFIX}${c.id}`;
  // A turn of the conversation, held running until the test lets it finish.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started!: () => void;
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  const sentDuringTurn: number[] = [];
  const toChat = () => f.sent.filter((m) => m.to.externalId === "9500").length;
  const turns = await startWorker({
    connectionString: f.t.url,
    concurrency: 1,
    pollIntervalMs: 100,
    taskList: {
      // (Other tests' event follow-ups leave turns of their own: ended at once.)
      [HANDLE_MESSAGE]: async (payload) => {
        if ((payload as { messageId: string }).messageId !== "turn") return;
        started();
        await gate;
        sentDuringTurn.push(toChat());
      },
    },
  });
  try {
    await f.t.pool.query(`SELECT graphile_worker.add_job($1, '{"messageId":"turn"}'::json, $2)`, [
      HANDLE_MESSAGE,
      queue,
    ]);
    await running;
    // One handed over by the minutely job, one due so soon that its job was added with it.
    const followup = (text: string, dueAt: Date, now?: Date) =>
      f.t.db.$transaction((tx) =>
        scheduleNotification(
          prismaSql(tx),
          { tenantId: s.tenantId, kind: "followup", dueAt, conversationId: c.id, content: { text } },
          now,
        ),
      );
    const handed = await followup("How was it?", f.clock.now);
    await f.handOver();
    const added = await followup("Rate us?", new Date(f.clock.now.getTime() + 1_000), f.clock.now);
    const { rows } = await f.t.pool.query<{ queue_name: string }>(
      `UPDATE graphile_worker._private_jobs j SET run_at = now() FROM graphile_worker._private_job_queues q
       WHERE q.id = j.job_queue_id AND j.payload->>'notificationId' = ANY($1) RETURNING q.queue_name`,
      [[handed.id, added.id]],
    );
    assert.deepEqual(rows, [{ queue_name: queue }, { queue_name: queue }], "in the conversation's queue");
    await sleep(1_000);
    assert.equal(toChat(), 0, "not sent while the turn runs");
    release();
    for (let i = 0; i < 300 && toChat() < 2; i++) await sleep(30);
    assert.deepEqual(
      f.sent
        .filter((m) => m.to.externalId === "9500")
        .map((m) => (m.reply as { text: string }).text)
        .sort(),
      ["How was it?", "Rate us?"],
    );
    assert.deepEqual(sentDuringTurn, [0], "the turn had finished before it was sent");
  } finally {
    release();
    await turns.stop();
  }
});
