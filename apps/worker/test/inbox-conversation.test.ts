import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { sleep, startStack, textUpdate, type Stack } from "./support.ts";

// Writes forced to the inbox, as under heavy load: the worker's expand-inbound job must turn the
// stored rows into messages and their turns, in order, each answered once.
let stack: Stack;

before(async () => {
  stack = await startStack({ ingest: { inboxAbove: 0 } });
  await stack.t.db.intent.create({
    data: {
      tenantId: stack.tenantId,
      name: "greeting",
      examples: ["hi", "hello", "good morning"],
      responses: [{ type: "text", text: "Hello!" }],
    },
  });
});
after(() => stack.close());

const sentTo = (chat: number) =>
  stack.telegram.calls.filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === String(chat));

test("updates acknowledged into the inbox are expanded by the worker and answered once each, in order", async () => {
  const chats = [801, 802, 803];
  // Chats at once, each chat's messages one after the other, as platforms deliver them.
  const updates = chats.map((chat) => [textUpdate("hi", chat), textUpdate("good morning", chat)]);
  const statuses = await Promise.all(
    updates.map(async ([first, second]) => [await stack.post(first!), await stack.post(second!)]),
  );
  assert.deepEqual(statuses.flat(), [200, 200, 200, 200, 200, 200]);
  assert.equal(await stack.post(updates[0]![0]!), 200, "a redelivery");
  for (let i = 0; i < 200 && !chats.every((chat) => sentTo(chat).length >= 2); i++) await sleep(50);
  await sleep(500);
  for (const chat of chats) assert.equal(sentTo(chat).length, 2, `chat ${chat}: one answer per message`);

  // The redelivery's row answers nothing, so the wait above does not cover its expansion.
  for (let i = 0; i < 200 && (await stack.t.db.inboundBatch.count()) > 0; i++) await sleep(50);
  assert.equal(await stack.t.db.inboundBatch.count(), 0, "every row expanded");
  // A turn marks its message processed once its reply is sent: on a busy machine a moment after the send.
  const inboundMessages = () =>
    stack.t.db.message.findMany({ where: { direction: "in" }, include: { conversation: true } });
  for (let i = 0; i < 200 && !(await inboundMessages()).every((m) => m.status === "processed"); i++) await sleep(50);
  const inbound = await inboundMessages();
  assert.equal(inbound.length, 6);
  assert.ok(inbound.every((m) => m.status === "processed"));
  for (const chat of chats) {
    // Each conversation's messages were answered in the order they arrived.
    const answered = (
      await stack.t.db.message.findMany({
        where: { direction: "in", conversation: { externalId: String(chat) } },
        orderBy: { updatedAt: "asc" },
      })
    ).map((m) => Number(m.dedupeKey));
    assert.deepEqual(
      answered,
      [...answered].sort((a, b) => a - b),
    );
  }
});
