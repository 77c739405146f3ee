import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { sleep, startStack, type Stack } from "./support.ts";

let stack: Stack;

before(async () => {
  stack = await startStack();
  await stack.t.db.intent.createMany({
    data: [
      {
        tenantId: stack.tenantId,
        name: "greeting",
        examples: ["hi", "hello", "good morning", "/start"],
        responses: [{ type: "text", text: "Hello! Ask me about your order." }],
      },
      {
        tenantId: stack.tenantId,
        name: "fallback",
        examples: [],
        isFallback: true,
        responses: [{ type: "text", text: "Sorry, I didn't get that." }],
      },
    ],
  });
});
after(() => stack.close());

const GROUP = -100200300;
let nextId = 50_000;
/** A message in the shop's group chat, from a member. */
function groupMessage(text: string, extra: Record<string, unknown> = {}) {
  const id = nextId++;
  return {
    update_id: id,
    message: {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: GROUP, type: "supergroup", title: "Shop fans" },
      from: { id: 777, is_bot: false, first_name: "Ada" },
      text,
      ...extra,
    },
  };
}
const repliesInGroup = () =>
  stack.telegram.calls.filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === String(GROUP));

async function processed(updateId: number) {
  for (let i = 0; i < 200; i++) {
    const message = await stack.t.db.message.findFirst({ where: { direction: "in", dedupeKey: String(updateId) } });
    if (message?.status === "processed") return message;
    await sleep(50);
  }
  assert.fail(`update ${updateId} was not processed`);
}

test("in a group, the bot answers only what addresses it: a mention, a reply to it, its own command", async () => {
  // Talk among members: stored and processed, never answered.
  const chatter = [
    groupMessage("hello everyone"),
    groupMessage("/start@OtherBot"),
    groupMessage("good morning", {
      reply_to_message: {
        message_id: 1,
        date: 1,
        chat: { id: GROUP, type: "supergroup" },
        from: { id: 888, is_bot: false, first_name: "Bo" },
        text: "hi",
      },
    }),
  ];
  for (const update of chatter) assert.equal(await stack.post(update), 200);
  for (const update of chatter) await processed(update.update_id);
  assert.deepEqual(repliesInGroup(), [], "no reply to talk that does not address the bot");
  const conversation = await stack.t.db.conversation.findFirstOrThrow({ where: { externalId: String(GROUP) } });
  assert.equal(await stack.t.db.message.count({ where: { conversationId: conversation.id, direction: "out" } }), 0);

  // Addressed to the bot: each is answered, in reply to the very message.
  const addressed = [
    groupMessage("@ShopBot hello"),
    groupMessage("hello", {
      reply_to_message: {
        message_id: 2,
        date: 1,
        chat: { id: GROUP, type: "supergroup" },
        from: { id: 424242, is_bot: true, first_name: "Shop", username: "ShopBot" },
        text: "Hello! Ask me about your order.",
      },
    }),
    groupMessage("/start@ShopBot"),
  ];
  for (const update of addressed) {
    assert.equal(await stack.post(update), 200);
    await processed(update.update_id);
  }
  const replies = repliesInGroup();
  assert.deepEqual(
    replies.map((c) => (c.params.reply_parameters as { message_id: number } | undefined)?.message_id),
    addressed.map((u) => u.message.message_id),
  );
  assert.ok(replies.every((c) => c.params.text === "Hello! Ask me about your order."));
});
