import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CONVERSATION_QUEUE_PREFIX, HANDLE_MESSAGE, scheduleNotification } from "@cb/conversation";
import { prismaSql } from "@cb/db";
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
