import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startReceiverForTests } from "./receiver.ts";
import { buttonPress, sleep, startStack, textUpdate, type Stack } from "./support.ts";

let stack: Stack;
let backend: Awaited<ReturnType<typeof startReceiverForTests>>;
let backendMode: "ok" | "down" = "ok";

before(async () => {
  backend = await startReceiverForTests((body) => {
    if (backendMode === "down") return { status: 503, body: "unavailable" };
    const request = JSON.parse(body);
    const q = request.queryResult;
    if (q.intent.displayName === "order.status") {
      return {
        status: 200,
        body: JSON.stringify({
          fulfillmentMessages: [
            { text: { text: [`Order ${q.parameters.order_id} has shipped.`] } },
            { card: { title: "Anything else?", buttons: [{ text: "Return it", postback: "return it please" }] } },
          ],
          outputContexts: [
            {
              name: `${request.session}/contexts/order`,
              lifespanCount: 2,
              parameters: { order_id: q.parameters.order_id },
            },
          ],
        }),
      };
    }
    return { status: 200, body: JSON.stringify({ fulfillmentText: `You asked for ${q.intent.displayName}` }) };
  });
  stack = await startStack();
  const endpoint = await stack.t.db.fulfillmentEndpoint.create({
    data: { tenantId: stack.tenantId, name: "orders", url: backend.url, timeoutMs: 2000 },
  });
  await stack.t.db.entityType.create({
    data: { tenantId: stack.tenantId, name: "order_id", kind: "pattern", pattern: "\\b\\d{5}\\b" },
  });
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
        name: "order.status",
        examples: [
          "where is my order",
          "track my package",
          "has my order shipped",
          "status of order 12345",
          "when will my parcel arrive",
        ],
        parameters: [
          { name: "order_id", entity: "@order_id", required: true, prompts: ["What is your order number?"] },
        ],
        responses: [
          { type: "text", text: "I can't reach the order system right now; please try again in a few minutes." },
        ],
        fulfillmentEndpointId: endpoint.id,
      },
      {
        tenantId: stack.tenantId,
        name: "order.return",
        examples: ["I want to return an item", "return it please", "how do I send this back", "refund"],
        fulfillmentEndpointId: endpoint.id,
        responses: [],
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
after(async () => {
  await stack.close();
  await backend.close();
});

const sentTo = (chat: number) =>
  stack.telegram.calls.filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === String(chat));

test("a Telegram update travels the whole way: webhook → NLU → fulfillment → one sendMessage", async () => {
  const update = textUpdate("where is order 12345?", 501);
  assert.equal(await stack.post(update), 200);
  const sent = await stack.telegram.waitFor((c) => c.method === "sendMessage" && String(c.params.chat_id) === "501");
  assert.equal(sent.params.text, "Order 12345 has shipped.");
  const card = await stack.telegram.waitFor(
    (c) => String(c.params.chat_id) === "501" && String(c.params.text).includes("Anything else?"),
  );
  assert.deepEqual(JSON.parse(JSON.stringify(card.params.reply_markup)), {
    inline_keyboard: [[{ text: "Return it", callback_data: "return it please" }]],
  });

  const request = JSON.parse(backend.received[0]!);
  const conversation = await stack.t.db.conversation.findFirstOrThrow({ where: { externalId: "501" } });
  assert.equal(request.session, `projects/${stack.tenantId}/agent/sessions/${conversation.id}`);
  assert.equal(request.queryResult.queryText, "where is order 12345?");
  assert.equal(request.queryResult.intent.displayName, "order.status");
  assert.deepEqual(request.queryResult.parameters, { order_id: "12345" });
  assert.equal(request.queryResult.allRequiredParamsPresent, true);
  assert.equal(request.queryResult.languageCode, "en");
  assert.ok(request.queryResult.intentDetectionConfidence > 0.3);
  assert.equal(request.originalDetectIntentRequest.source, "telegram");
  assert.equal(request.originalDetectIntentRequest.payload.data.update_id, update.update_id);
  assert.equal(typeof request.responseId, "string");

  // The platform redelivers the same update: stored once, answered once.
  assert.equal(await stack.post(update), 200);
  await sleep(800);
  assert.equal(sentTo(501).length, 2, "the text and the card, once");
  assert.equal(backend.received.length, 1);
  const stored = await stack.t.db.message.findMany({
    where: { conversationId: conversation.id },
    orderBy: { createdAt: "asc" },
  });
  assert.deepEqual(
    stored.map((m) => [m.direction, m.status]),
    [
      ["in", "processed"],
      ["out", "sent"],
      ["out", "sent"],
    ],
  );
  const replyIds = sentTo(501).map((c) => String((c.result as { message_id: number }).message_id));
  assert.deepEqual(
    stored.slice(1).map((m) => m.platformMessageId),
    replyIds,
    "each reply keeps the message_id Telegram gave it",
  );
  const call = await stack.t.db.fulfillmentCall.findFirstOrThrow();
  assert.equal(call.ok, true);
  assert.equal(call.httpStatus, 200);
});

test("slot filling across turns, then the button press arrives as a postback with the context set by fulfillment", async () => {
  await stack.post(textUpdate("where is my order", 502));
  await stack.telegram.waitFor(
    (c) => String(c.params.chat_id) === "502" && c.params.text === "What is your order number?",
  );
  await stack.post(textUpdate("it's 10001", 502));
  await stack.telegram.waitFor(
    (c) => String(c.params.chat_id) === "502" && c.params.text === "Order 10001 has shipped.",
  );
  const last = JSON.parse(backend.received.at(-1)!);
  assert.deepEqual(last.queryResult.parameters, { order_id: "10001" });

  const before = backend.received.length;
  await stack.post(buttonPress("return it please", 502));
  await stack.telegram.waitFor((c) => c.method === "answerCallbackQuery");
  await stack.telegram.waitFor(
    (c) => String(c.params.chat_id) === "502" && c.params.text === "You asked for order.return",
  );
  const press = JSON.parse(backend.received[before]!);
  assert.equal(press.queryResult.intent.displayName, "order.return");
  assert.deepEqual(
    press.queryResult.outputContexts.map((c: { name: string; lifespanCount: number }) => [
      c.name.split("/").at(-1),
      c.lifespanCount,
    ]),
    [["order", 1]],
    "the context the backend set last turn, one turn older",
  );
  const inbound = await stack.t.db.message.findFirstOrThrow({
    where: { direction: "in", dedupeKey: String(JSON.parse(press.originalDetectIntentRequest.payload.data.update_id)) },
  });
  assert.deepEqual((inbound.content as { postback: unknown }).postback, { payload: "return it please" });
});

test("a failing backend: the intent's static response, and the failure recorded", async () => {
  backendMode = "down";
  try {
    await stack.post(textUpdate("track order 20002", 503));
    const sent = await stack.telegram.waitFor((c) => String(c.params.chat_id) === "503");
    assert.equal(sent.params.text, "I can't reach the order system right now; please try again in a few minutes.");
    const failure = await stack.t.db.fulfillmentCall.findFirstOrThrow({ where: { ok: false } });
    assert.equal(failure.httpStatus, 503);
    assert.match(failure.error ?? "", /HTTP 503/);
  } finally {
    backendMode = "ok";
  }
});

test("unknown text gets the fallback; greetings their static answer", async () => {
  await stack.post(textUpdate("qwxz plork", 504));
  assert.equal(
    (await stack.telegram.waitFor((c) => String(c.params.chat_id) === "504")).params.text,
    "Sorry, I didn't get that.",
  );
  await stack.post(textUpdate("/start", 505));
  assert.equal(
    (await stack.telegram.waitFor((c) => String(c.params.chat_id) === "505")).params.text,
    "Hello! Ask me about your order.",
  );
});
