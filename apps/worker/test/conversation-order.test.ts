import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { sleep, startStack, textUpdate, type Stack } from "./support.ts";

// The worker's handle-message job answers a conversation's messages in order: while the first
// one's turn fails and waits for its retry, the second one's job must not answer the second.
let stack: Stack;

before(async () => {
  stack = await startStack({ answering: { retryDelayMs: () => 300 } });
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

const answeredInOrder = async (chat: number) =>
  (
    await stack.t.db.message.findMany({
      where: { direction: "in", conversation: { externalId: String(chat) } },
      orderBy: { updatedAt: "asc" },
      select: { dedupeKey: true, status: true, attempts: true },
    })
  ).map((m) => ({ key: Number(m.dedupeKey), status: m.status, attempts: m.attempts }));

test("a first message whose replies the platform keeps refusing holds the second until it is answered", async () => {
  const chat = 901;
  // Enough server errors that the first turn's send gives up in place (five tries) and the turn fails.
  for (let n = 0; n < 5; n++)
    stack.telegram.failNext("sendMessage", { status: 500, description: "Internal Server Error" });
  const first = textUpdate("hi", chat);
  const second = textUpdate("good morning", chat);
  assert.equal(await stack.post(first), 200);
  assert.equal(await stack.post(second), 200);
  const sent = () =>
    stack.telegram.calls.filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === String(chat));
  const processed = async () => (await answeredInOrder(chat)).filter((m) => m.status === "processed").length;
  for (let i = 0; i < 600 && (await processed()) < 2; i++) await sleep(50);
  assert.equal(sent().length, 2);
  const answered = await answeredInOrder(chat);
  assert.deepEqual(
    answered.map((m) => [m.key, m.status]),
    [
      [first.update_id, "processed"],
      [second.update_id, "processed"],
    ],
  );
  assert.ok(answered[0]!.attempts > 1, "the first message's turn failed at least once");
});
