import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { generateSigningSecret } from "@cb/fulfillment";
import { startReceiverForTests } from "./receiver.ts";
import { sleep, startStack, textUpdate, type Stack } from "./support.ts";

let stack: Stack;
let receiver: Awaited<ReturnType<typeof startReceiverForTests>>;

before(async () => {
  receiver = await startReceiverForTests(() => ({ status: 200, body: "ok" }));
  stack = await startStack({ worker: false });
  await stack.t.db.intent.create({
    data: {
      tenantId: stack.tenantId,
      name: "greeting",
      examples: ["hi", "hello", "good morning"],
      responses: [{ type: "text", text: "Hello!" }],
    },
  });
  await stack.t.db.eventSubscription.create({
    data: {
      tenantId: stack.tenantId,
      url: receiver.url,
      eventTypes: ["conversation.started", "message.received"],
      secrets: stack.sealer.sealJson({ signingSecrets: [generateSigningSecret()] }),
    },
  });
});
after(async () => {
  await stack.close();
  await receiver.close();
});

async function processed(count: number) {
  for (let i = 0; i < 300; i++) {
    if ((await stack.t.db.message.count({ where: { direction: "in", status: "processed" } })) === count) return;
    await sleep(100);
  }
  assert.fail(`${count} messages were not all processed`);
}

test("messages stored before any is answered: conversation.started once, for the first of them", async () => {
  // Both arrive while no worker runs, so the conversation has two messages before its first turn.
  assert.equal(await stack.post(textUpdate("hi", 777)), 200);
  assert.equal(await stack.post(textUpdate("hello", 777)), 200);
  await stack.startWorker();
  await processed(2);
  assert.equal(await stack.post(textUpdate("good morning", 777)), 200);
  await processed(3);

  const events = await stack.t.db.event.findMany({
    where: { tenantId: stack.tenantId },
    orderBy: { createdAt: "asc" },
  });
  const started = events.filter((e) => e.type === "conversation.started");
  assert.equal(started.length, 1, "one conversation, started once");
  assert.equal((started[0]!.data as { externalId: string }).externalId, "777");
  assert.equal(events.filter((e) => e.type === "message.received").length, 3);
  const first = await stack.t.db.message.findFirstOrThrow({
    where: { direction: "in" },
    orderBy: { createdAt: "asc" },
  });
  const startedWith = events.find(
    (e) => e.type === "message.received" && e.createdAt.getTime() === started[0]!.createdAt.getTime(),
  );
  assert.ok(startedWith, "a message.received event for the first message");
  assert.equal(
    (startedWith.data as { messageId: string }).messageId,
    first.id,
    "started by the turn of the first message",
  );
});
