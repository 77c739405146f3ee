import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PlatformError, type Reply } from "@cb/core";
import { generateSigningSecret } from "@cb/fulfillment";
import {
  applyContexts,
  createUnderstand,
  handleMessage,
  type TurnDeps,
  type Understand,
  type Understanding,
} from "../src/index.ts";
import { setUpTurns, startBackend, type Answer, type Setup, type TurnSetup } from "./support.ts";

let turns: TurnSetup;
let s: Setup;
let deps: TurnDeps;
let backend: TurnSetup["backend"];
let endpointId: string;
/** What the backend answers, by intent. */
let answers: Map<string, Answer>;
/** What understanding says next, and what it was asked. */
let understanding: Understanding;
const asked: Parameters<Understand>[0][] = [];

before(async () => {
  turns = await setUpTurns(async (input) => {
    asked.push(input);
    return understanding;
  });
  ({ s, deps, backend, endpointId, answers } = turns);
  await s.t.db.eventSubscription.create({
    data: { tenantId: s.tenantId, url: "https://example.com/events", eventTypes: ["*"], secrets: "sealed" },
  });
});
after(() => turns.close());

const understood = (intent: string, extra: Partial<Understanding> = {}): Understanding => ({
  intent,
  confidence: 0.9,
  parameters: {},
  allRequiredParamsPresent: true,
  contexts: [],
  state: { contexts: [{ name: "turn", lifespanCount: 1 }] },
  ...extra,
});
async function intent(
  name: string,
  responses: Reply[],
  options: {
    fulfilled?: boolean;
    events?: string[];
    action?: string;
    webhookForSlotFilling?: boolean;
    outputContexts?: { name: string; lifespan: number }[];
    parameters?: { name: string; entity: string; required?: boolean; isList?: boolean }[];
    isFallback?: boolean;
  } = {},
) {
  const { fulfilled, ...columns } = options;
  await s.t.db.intent.create({
    data: {
      tenantId: s.tenantId,
      name,
      examples: [],
      responses: responses as object[],
      ...(fulfilled ? { fulfillmentEndpointId: endpointId } : {}),
      ...columns,
    },
  });
}
/** A Messenger message: the flows go through Messenger, which has no per-chat rate limit to wait on. */
const receive = (fields: Parameters<Setup["receive"]>[0]) => s.receive({ channel: "messenger", ...fields });
const sentTo = (chat: string) =>
  s.graph.calls.filter((c) => c.body.recipient?.id === chat).map((c) => c.body.message.text);
const sentOnTelegram = (chat: string) =>
  s.telegram.calls
    .filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === chat)
    .map((c) => c.params.text);
const conversationOf = (chat: string) => s.t.db.conversation.findFirstOrThrow({ where: { externalId: chat } });
async function eventsOf(chat: string) {
  const { id } = await conversationOf(chat);
  const events = await s.t.db.event.findMany({ where: { data: { path: ["conversationId"], equals: id } } });
  return events.map((e) => ({ type: e.type, data: e.data as Record<string, any> }));
}
const typesOf = async (chat: string) => (await eventsOf(chat)).map((e) => e.type).sort();
const fulfillmentCalls = (messageId: string) =>
  s.t.db.fulfillmentCall.findMany({ where: { messageId }, orderBy: { createdAt: "asc" } });

test("an intent without a backend: its own responses are sent, the dialog state kept, the message processed with its events", async () => {
  await intent("greeting", [
    { type: "text", text: "Hello!" },
    { type: "text", text: "How can I help?" },
  ]);
  understanding = understood("greeting", { confidence: 0.8, parameters: { name: "Ada" } });
  const id = await receive({ chat: "301", text: "hi" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "greeting", replies: 2 });
  assert.deepEqual(sentTo("301"), ["Hello!", "How can I help?"]);

  const input = asked.at(-1)!;
  const tenant = await s.t.db.tenant.findUniqueOrThrow({ where: { id: s.tenantId } });
  assert.deepEqual(input.tenant, {
    id: s.tenantId,
    language: "en",
    timezone: "Europe/Berlin",
    nluSettings: {},
    trainingRevision: String(tenant.trainingRevision),
  });
  assert.equal(input.message.text, "hi");
  assert.deepEqual(input.state, {}, "a new conversation's state");

  const conversation = await conversationOf("301");
  assert.deepEqual(conversation.state, understanding.state);
  const inbound = await s.t.db.message.findUniqueOrThrow({ where: { id } });
  assert.equal(inbound.status, "processed");

  const events = await eventsOf("301");
  const base = { conversationId: conversation.id, channelAccountId: s.messenger.id, channel: "messenger" };
  const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.data);
  assert.deepEqual(of("conversation.started"), [{ ...base, externalId: "301" }]);
  assert.deepEqual(of("message.received"), [{ ...base, messageId: id, message: inbound.content }]);
  assert.deepEqual(of("intent.matched"), [
    { ...base, messageId: id, intent: "greeting", confidence: 0.8, parameters: { name: "Ada" } },
  ]);
  const outbound = await s.t.db.message.findMany({
    where: { conversationId: conversation.id, direction: "out" },
    orderBy: { dedupeKey: "asc" },
  });
  assert.deepEqual(
    of("message.sent").sort((a, b) => String(a.reply.text).localeCompare(String(b.reply.text))),
    outbound
      .map((m) => ({
        ...base,
        messageId: m.id,
        inReplyTo: id,
        reply: m.content,
        platformMessageId: m.platformMessageId,
      }))
      .sort((a, b) => String((a.reply as Reply & { text: string }).text).localeCompare((b.reply as any).text)),
  );
  assert.equal(events.length, 5);

  // The job run again (a retry after a crash): nothing is done twice.
  assert.deepEqual(await handleMessage(deps, id), { replies: 0, skipped: "already processed" });
  assert.equal(sentTo("301").length, 2);
  assert.equal((await eventsOf("301")).length, 5);
});

test("a later message: no conversation.started; understanding gets the state the last turn kept", async () => {
  understanding = understood("greeting", { state: { contexts: [{ name: "second", lifespanCount: 2 }] } });
  const first = await receive({ chat: "302", text: "hi" });
  await handleMessage(deps, first);
  const second = await receive({ chat: "302", text: "hello again" });
  understanding = understood("greeting", { state: { contexts: [] } });
  await handleMessage(deps, second);
  assert.deepEqual(asked.at(-1)!.state, { contexts: [{ name: "second", lifespanCount: 2 }] });
  assert.deepEqual((await conversationOf("302")).state, { contexts: [] });
  assert.equal((await typesOf("302")).filter((t) => t === "conversation.started").length, 1);
  assert.equal((await typesOf("302")).filter((t) => t === "message.received").length, 2);
});

test("an unknown message is not a turn", async () => {
  assert.deepEqual(await handleMessage(deps, "00000000-0000-4000-8000-000000000000"), {
    replies: 0,
    skipped: "already processed",
  });
});

test("an intent with a backend: the backend's replies, its output contexts kept, and the attempt recorded", async () => {
  await intent("order.status", [{ type: "text", text: "The order system is down." }], { fulfilled: true });
  answers.set("order.status", (request) => ({
    body: {
      fulfillmentText: `Order ${request.queryResult.parameters.order_id} has shipped.`,
      outputContexts: [
        { name: `${request.session}/contexts/order`, lifespanCount: 2, parameters: { order_id: "12345" } },
      ],
    },
  }));
  understanding = understood("order.status", {
    parameters: { order_id: "12345" },
    state: { contexts: [{ name: "earlier", lifespanCount: 1 }] },
  });
  const id = await receive({ chat: "303", text: "where is 12345" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "order.status", replies: 1 });
  assert.deepEqual(sentTo("303"), ["Order 12345 has shipped."]);
  assert.deepEqual((await conversationOf("303")).state, {
    contexts: [
      { name: "earlier", lifespanCount: 1 },
      { name: "order", lifespanCount: 2, parameters: { order_id: "12345" } },
    ],
  });
  const [call, ...more] = await fulfillmentCalls(id);
  assert.equal(more.length, 0);
  assert.deepEqual(
    { ...call!, id: undefined, createdAt: undefined, latencyMs: undefined },
    {
      id: undefined,
      createdAt: undefined,
      latencyMs: undefined,
      tenantId: s.tenantId,
      messageId: id,
      endpointId,
      intent: "order.status",
      ok: true,
      httpStatus: 200,
      error: null,
      errorClass: null,
      // What went over the wire, for webhook health: the request as posted, its headers, the answer.
      requestBody: JSON.stringify(backend.received.at(-1)),
      requestHeaders: { "content-type": "application/json" },
      responseBody: JSON.stringify(answers.get("order.status")!(backend.received.at(-1)).body),
      replayOf: null,
    },
  );
  assert.ok(Number.isInteger(call!.latencyMs) && call!.latencyMs >= 0 && call!.latencyMs < 2000);
  assert.ok(!(await typesOf("303")).includes("fulfillment.failed"));
});

test("a failing backend: the intent's own responses, the failure recorded and reported", async () => {
  await intent("order.return", [{ type: "text", text: "Returns are down; try later." }], { fulfilled: true });
  answers.set("order.return", () => ({ status: 503, body: { error: "down" } }));
  understanding = understood("order.return");
  const id = await receive({ chat: "304", text: "return it" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "order.return", replies: 1 });
  assert.deepEqual(sentTo("304"), ["Returns are down; try later."]);
  const [call] = await fulfillmentCalls(id);
  assert.deepEqual(
    [call!.ok, call!.httpStatus, call!.error, call!.errorClass, call!.responseBody],
    [false, 503, "the endpoint answered HTTP 503", "http_5xx", JSON.stringify({ error: "down" })],
  );
  const conversation = await conversationOf("304");
  const failed = (await eventsOf("304")).filter((e) => e.type === "fulfillment.failed").map((e) => e.data);
  assert.deepEqual(failed, [
    {
      conversationId: conversation.id,
      channelAccountId: s.messenger.id,
      channel: "messenger",
      messageId: id,
      endpointId,
      intent: "order.return",
      error: "the endpoint answered HTTP 503",
      httpStatus: 503,
    },
  ]);
  assert.deepEqual(conversation.state, understanding.state, "no backend contexts");
});

test("a backend that cannot be reached: the failure is reported without an HTTP status", async () => {
  const closed = await startBackend(() => ({ body: {} }));
  await closed.close();
  const gone = await s.t.db.fulfillmentEndpoint.create({
    data: { tenantId: s.tenantId, name: "gone", url: closed.url, timeoutMs: 500 },
  });
  await s.t.db.intent.create({
    data: {
      tenantId: s.tenantId,
      name: "crm.lookup",
      examples: [],
      responses: [{ type: "text", text: "The CRM is away." }],
      fulfillmentEndpointId: gone.id,
    },
  });
  understanding = understood("crm.lookup");
  const id = await receive({ chat: "305", text: "look me up" });
  await handleMessage(deps, id);
  assert.deepEqual(sentTo("305"), ["The CRM is away."]);
  const [call] = await fulfillmentCalls(id);
  assert.equal(call!.ok, false);
  assert.equal(call!.httpStatus, null);
  assert.equal(call!.errorClass, "connection");
  assert.equal(call!.responseBody, null);
  const [failed] = (await eventsOf("305")).filter((e) => e.type === "fulfillment.failed");
  assert.equal(failed!.data.endpointId, gone.id);
  assert.equal(failed!.data.error, call!.error);
  assert.ok(!("httpStatus" in failed!.data));
});

test("a backend that answers nothing leaves the intent's own responses standing", async () => {
  await intent("store.hours", [{ type: "text", text: "We open at nine." }], { fulfilled: true });
  answers.set("store.hours", () => ({ body: {} }));
  understanding = understood("store.hours");
  const id = await receive({ chat: "306", text: "when do you open" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "store.hours", replies: 1 });
  assert.deepEqual(sentTo("306"), ["We open at nine."]);
  assert.equal((await fulfillmentCalls(id))[0]!.ok, true);
});

test("followupEventInput as Dialogflow's: the backend's text is dropped, the intent listing the event answers with the event's parameters, and both backends' contexts stay", async () => {
  await intent("order.cancel", [{ type: "text", text: "static cancel" }], { fulfilled: true });
  await intent("order.cancelled", [{ type: "text", text: "static cancelled" }], {
    fulfilled: true,
    events: ["ORDER_CANCELLED"],
  });
  answers.set("order.cancel", () => ({
    body: {
      fulfillmentText: "Cancelling your order…",
      outputContexts: [{ name: "projects/p/agent/sessions/s/contexts/cancelling", lifespanCount: 1 }],
      followupEventInput: { name: "order_cancelled", parameters: { reason: "late" } },
    },
  }));
  answers.set("order.cancelled", (request) => ({
    body: {
      fulfillmentText: `Order ${request.queryResult.parameters.order_id} is cancelled (${request.queryResult.parameters.reason}).`,
      outputContexts: [{ name: "projects/p/agent/sessions/s/contexts/refund", lifespanCount: 3 }],
    },
  }));
  understanding = understood("order.cancel", { parameters: { order_id: "12345" }, state: {} });
  const id = await receive({ chat: "307", text: "cancel order 12345" });
  const before = backend.received.length;
  assert.deepEqual(await handleMessage(deps, id), { intent: "order.cancel", replies: 1 });
  assert.deepEqual(sentTo("307"), ["Order 12345 is cancelled (late)."], "the first backend's text is not sent");
  const requests = backend.received.slice(before);
  assert.deepEqual(
    requests.map((r) => [r.queryResult.intent.displayName, r.queryResult.parameters]),
    [
      ["order.cancel", { order_id: "12345" }],
      ["order.cancelled", { order_id: "12345", reason: "late" }],
    ],
  );
  assert.deepEqual(
    (await fulfillmentCalls(id)).map((c) => [c.intent, c.ok]),
    [
      ["order.cancel", true],
      ["order.cancelled", true],
    ],
  );
  assert.deepEqual((await conversationOf("307")).state, {
    contexts: [
      { name: "cancelling", lifespanCount: 1, parameters: {} },
      { name: "refund", lifespanCount: 3, parameters: {} },
    ],
  });
});

test("an event triggers an intent without a backend: its responses read the event's parameters as #event.param, and its output contexts are set", async () => {
  await intent("order.help", [{ type: "text", text: "Call us on 555-0100 about #help-needed.topic." }], {
    events: ["help-needed"],
    outputContexts: [{ name: "helping", lifespan: 2 }],
  });
  await intent("order.problem", [], { fulfilled: true });
  answers.set("order.problem", () => ({
    body: {
      fulfillmentText: "Sorry to hear that.",
      outputContexts: [{ name: "projects/p/agent/sessions/s/contexts/problem", lifespanCount: 2 }],
      followupEventInput: { name: "help-needed", parameters: { topic: "returns" } },
    },
  }));
  understanding = understood("order.problem", { state: {} });
  const id = await receive({ chat: "308", text: "my order is broken" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "order.problem", replies: 1 });
  assert.deepEqual(sentTo("308"), ["Call us on 555-0100 about returns."]);
  assert.deepEqual((await conversationOf("308")).state, {
    contexts: [
      { name: "problem", lifespanCount: 2, parameters: {} },
      { name: "helping", lifespanCount: 2, parameters: { topic: "returns" } },
    ],
  });
});

test("an event no intent lists ends in the fallback intent, never in silence; an intent's name is not its event", async () => {
  await intent("shop.fallback", [{ type: "text", text: "Sorry, I didn't get that." }], { isFallback: true });
  await intent("order.lost", [], { fulfilled: true });
  answers.set("order.lost", () => ({
    body: { fulfillmentText: "Looking…", followupEventInput: { name: "order.help" } },
  }));
  understanding = understood("order.lost");
  const id = await receive({ chat: "325", text: "I lost my order" });
  await handleMessage(deps, id);
  assert.deepEqual(sentTo("325"), ["Sorry, I didn't get that."]);
});

test("an event's intent is chosen among those whose input contexts are active", async () => {
  await s.t.db.intent.create({
    data: {
      tenantId: s.tenantId,
      name: "vip.welcome",
      examples: [],
      responses: [{ type: "text", text: "Welcome back, VIP." }],
      events: ["greet"],
      inputContexts: ["vip"],
    },
  });
  await intent("plain.welcome", [{ type: "text", text: "Welcome." }], { events: ["greet"] });
  await intent("greet.start", [], { fulfilled: true });
  answers.set("greet.start", (request) => ({
    body: {
      followupEventInput: { name: "greet" },
      ...(request.queryResult.queryText === "vip"
        ? { outputContexts: [{ name: `${request.session}/contexts/vip`, lifespanCount: 1 }] }
        : {}),
    },
  }));
  understanding = understood("greet.start", { state: {} });
  await handleMessage(deps, await receive({ chat: "326", text: "vip" }));
  await handleMessage(deps, await receive({ chat: "327", text: "plain" }));
  assert.deepEqual(sentTo("326"), ["Welcome back, VIP."]);
  assert.deepEqual(sentTo("327"), ["Welcome."]);
});

test("a follow-up whose backend fails: its intent's own responses, and the failure reported", async () => {
  await intent("payment.retry", [{ type: "text", text: "Payments are down." }], {
    fulfilled: true,
    events: ["retry-payment"],
  });
  await intent("payment.start", [], { fulfilled: true });
  answers.set("payment.start", () => ({
    body: { fulfillmentText: "One moment.", followupEventInput: { name: "retry-payment" } },
  }));
  answers.set("payment.retry", () => ({ status: 500, body: {} }));
  understanding = understood("payment.start");
  const id = await receive({ chat: "309", text: "pay" });
  await handleMessage(deps, id);
  assert.deepEqual(sentTo("309"), ["Payments are down."]);
  const failed = (await eventsOf("309")).filter((e) => e.type === "fulfillment.failed");
  assert.deepEqual(
    failed.map((e) => [e.data.intent, e.data.httpStatus]),
    [["payment.retry", 500]],
  );
});

test("follow-ups are bounded: a backend that keeps asking for one is followed three times", async () => {
  await intent("loop", [], { fulfilled: true, events: ["again"] });
  let n = 0;
  answers.set("loop", () => ({ body: { fulfillmentText: `round ${++n}`, followupEventInput: { name: "again" } } }));
  understanding = understood("loop");
  const id = await receive({ chat: "310", text: "loop" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "loop", replies: 1 });
  assert.equal((await fulfillmentCalls(id)).length, 4);
  assert.deepEqual(sentTo("310"), ["round 4"], "the last answer, whose event is not followed, is sent");
});

test("a missing parameter is asked for instead of fulfilling", async () => {
  await intent("order.track", [{ type: "text", text: "static" }], { fulfilled: true });
  understanding = understood("order.track", { prompt: "What is your order number?", allRequiredParamsPresent: false });
  const id = await receive({ chat: "311", text: "track my order" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "order.track", replies: 1 });
  assert.deepEqual(sentTo("311"), ["What is your order number?"]);
  assert.equal((await fulfillmentCalls(id)).length, 0);
  assert.deepEqual(await typesOf("311"), [
    "conversation.started",
    "intent.matched",
    "message.received",
    "message.sent",
  ]);
});

test("webhookForSlotFilling: the backend is called while prompting, with the prompt and the unfilled parameters, and its answer and contexts replace the prompt", async () => {
  await intent("pizza.size", [{ type: "text", text: "A $size pizza." }], {
    fulfilled: true,
    webhookForSlotFilling: true,
    action: "pizza.order",
    parameters: [
      { name: "size", entity: "@size", required: true },
      { name: "toppings", entity: "@topping", isList: true },
    ],
  });
  answers.set("pizza.size", (request) => ({
    body: request.queryResult.allRequiredParamsPresent
      ? {}
      : {
          fulfillmentText: "Small, medium or large? (large is on offer)",
          outputContexts: [
            { name: `${request.session}/contexts/offer`, lifespanCount: 2, parameters: { deal: "large" } },
          ],
        },
  }));
  understanding = understood("pizza.size", {
    prompt: "Which size?",
    allRequiredParamsPresent: false,
    state: { contexts: [], pending: { intent: "pizza.size" } },
  });
  const before = backend.received.length;
  const id = await receive({ chat: "328", text: "a pizza please" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "pizza.size", replies: 1 });
  assert.deepEqual(sentTo("328"), ["Small, medium or large? (large is on offer)"]);
  const [request] = backend.received.slice(before);
  assert.equal(request.queryResult.allRequiredParamsPresent, false);
  assert.equal(request.queryResult.action, "pizza.order");
  assert.equal(request.queryResult.fulfillmentText, "Which size?");
  assert.deepEqual(request.queryResult.fulfillmentMessages, [{ text: { text: ["Which size?"] } }]);
  assert.deepEqual(request.queryResult.parameters, { size: "", toppings: [] });
  assert.deepEqual((await conversationOf("328")).state, {
    contexts: [{ name: "offer", lifespanCount: 2, parameters: { deal: "large" } }],
    pending: { intent: "pizza.size" },
  });

  // Once complete, the intent's own response (placeholders resolved) stands when the backend adds nothing.
  understanding = understood("pizza.size", { parameters: { size: "large" }, state: {} });
  await handleMessage(deps, await receive({ chat: "328", text: "large" }));
  assert.deepEqual(sentTo("328").at(-1), "A large pizza.");
  assert.equal(backend.received.at(-1).queryResult.fulfillmentText, "A large pizza.");
});

test("a backend that answers nothing while prompting leaves the prompt standing", async () => {
  await intent("pizza.drink", [], { fulfilled: true, webhookForSlotFilling: true });
  answers.set("pizza.drink", () => ({ body: {} }));
  understanding = understood("pizza.drink", { prompt: "Which drink?", allRequiredParamsPresent: false });
  const id = await receive({ chat: "329", text: "and a drink" });
  await handleMessage(deps, id);
  assert.deepEqual(sentTo("329"), ["Which drink?"]);
  assert.equal((await fulfillmentCalls(id)).length, 1);
});

test("placeholders in responses and prompts: parameters, their original text, contexts, lists, and the variant whose parameters are all filled", async () => {
  await intent("pizza.confirm", [
    {
      type: "text",
      text: "A $colour pizza",
      variants: ["A $colour pizza", "A $size ($size.original) pizza with $toppings for order #order-context.order_id."],
    } as Reply,
  ]);
  understanding = understood("pizza.confirm", {
    parameters: { size: "large", toppings: ["ham", "olives", "cheese"] },
    parameterSpans: { size: "big" },
    contexts: [{ name: "order-context", lifespanCount: 2, parameters: { order_id: "12345" } }],
  });
  await handleMessage(deps, await receive({ chat: "330", text: "a big one with ham, olives and cheese" }));
  assert.deepEqual(sentTo("330"), ["A large (big) pizza with ham, olives and cheese for order 12345."]);

  understanding = understood("pizza.confirm", {
    prompt: "Which size for your $toppings?",
    allRequiredParamsPresent: false,
    parameters: { toppings: ["ham", "olives"] },
  });
  await handleMessage(deps, await receive({ chat: "331", text: "ham and olives" }));
  assert.deepEqual(sentTo("331"), ["Which size for your ham and olives?"]);
});

test("slot filling with the real NLU: after prompting, the intent's output context carries the filled parameter to its backend and lets a follow-up intent match", async () => {
  await s.t.db.entityType.create({
    data: { tenantId: s.tenantId, name: "size", kind: "list", entries: [{ value: "large", synonyms: ["big"] }] },
  });
  await s.t.db.intent.create({
    data: {
      tenantId: s.tenantId,
      name: "pizza.start",
      examples: ["I want to order a pizza", "order a pizza", "a pizza please", "can I get a pizza"],
      parameters: [{ name: "size", entity: "@size", required: true, prompts: ["What size, $name?"] }],
      outputContexts: [{ name: "pizza-ordered", lifespan: 2 }],
      responses: [{ type: "text", text: "A #pizza-ordered.size pizza, coming up." }],
      fulfillmentEndpointId: endpointId,
    },
  });
  await s.t.db.intent.create({
    data: {
      tenantId: s.tenantId,
      name: "pizza.extra",
      examples: ["add extra cheese", "extra cheese please", "with more cheese"],
      inputContexts: ["pizza-ordered"],
      responses: [{ type: "text", text: "Extra cheese on your #pizza-ordered.size.original pizza." }],
    },
  });
  const seen: any[] = [];
  answers.set("pizza.start", (request) => {
    seen.push(request.queryResult);
    return { body: {} };
  });
  const real: TurnDeps = { ...deps, understand: createUnderstand(s.t.db, { pool: s.t.pool }) };
  await handleMessage(real, await receive({ chat: "332", text: "I want to order a pizza" }));
  assert.deepEqual((await conversationOf("332")).state, {
    contexts: [],
    pending: { intent: "pizza.start", parameters: {}, spans: {}, missing: "size", attempts: 1 },
  });
  await handleMessage(real, await receive({ chat: "332", text: "big" }));
  await handleMessage(real, await receive({ chat: "332", text: "add extra cheese" }));
  assert.deepEqual(sentTo("332"), ["What size, ?", "A large pizza, coming up.", "Extra cheese on your big pizza."]);
  assert.equal(seen.length, 1, "the backend is called once, when the intent completes");
  assert.deepEqual(
    seen[0].outputContexts.map((c: any) => [c.name.split("/").at(-1), c.lifespanCount, c.parameters]),
    [["pizza-ordered", 2, { size: "large", "size.original": "big" }]],
  );
});

test("an intent the tenant never defined (a fallback nobody wrote): nothing to say, and the turn is done", async () => {
  understanding = understood("Default Fallback Intent", { confidence: 0 });
  const id = await receive({ chat: "321", text: "qwxz" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "Default Fallback Intent", replies: 0 });
  assert.deepEqual(sentTo("321"), []);
  assert.equal((await s.t.db.message.findUniqueOrThrow({ where: { id } })).status, "processed");
  assert.deepEqual(await typesOf("321"), ["conversation.started", "intent.matched", "message.received"]);
});

test("in a Telegram group, answers quote the message they answer, the opt-out confirmation too", async () => {
  await intent("group.hello", [{ type: "text", text: "Hello, group!" }]);
  understanding = understood("group.hello");
  const group = (chat: string) => ({ chat, conversation: { externalId: chat, type: "group" as const } });
  const id = await s.receive({ ...group("-322"), platformMessageId: "901", text: "@ShopBot hi" });
  await handleMessage(deps, id);
  const stop = await s.receive({ ...group("-323"), platformMessageId: "902", text: "stop" });
  await handleMessage(deps, stop);
  const quoted = (chat: string) =>
    s.telegram.calls
      .filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === chat)
      .map((c) => [c.params.text, (c.params.reply_parameters as { message_id?: number } | undefined)?.message_id]);
  assert.deepEqual(quoted("-322"), [["Hello, group!", 901]]);
  assert.deepEqual(quoted("-323"), [
    ["You won't get notifications from us anymore. Send START to get them again.", 902],
  ]);
});

test("a button whose payload reads like STOP is a button press, not an opt-out; on Messenger nothing needs acknowledging", async () => {
  await intent("stop.order", [{ type: "text", text: "Stopping the order." }]);
  understanding = understood("stop.order");
  const asks = asked.length;
  const id = await receive({ chat: "324", text: "STOP", postback: { payload: "STOP" } });
  assert.deepEqual(await handleMessage(deps, id), { intent: "stop.order", replies: 1 });
  assert.equal(asked.length, asks + 1);
  assert.deepEqual(sentTo("324"), ["Stopping the order."]);
  assert.equal(await s.t.db.contactIdentity.count({ where: { externalId: "324" } }), 0);
});

test("a group message not addressed to the bot: no understanding, no reply; the message is processed and reported received", async () => {
  const asks = asked.length;
  const id = await s.receive({
    chat: "-312",
    conversation: { externalId: "-312", type: "group" },
    text: "hi everyone",
    addressedToBot: false,
  });
  assert.deepEqual(await handleMessage(deps, id), { replies: 0, skipped: "not addressed to the bot" });
  assert.equal(asked.length, asks);
  assert.deepEqual(sentOnTelegram("-312"), []);
  assert.equal((await s.t.db.message.findUniqueOrThrow({ where: { id } })).status, "processed");
  assert.deepEqual(await typesOf("-312"), ["conversation.started", "message.received"]);
});

test("a message with nothing to answer (a location, a sticker) is processed without a turn", async () => {
  const asks = asked.length;
  const id = await receive({ chat: "313", location: { latitude: 52.5, longitude: 13.4 } });
  assert.deepEqual(await handleMessage(deps, id), { replies: 0, skipped: "nothing to answer" });
  assert.equal(asked.length, asks);
  assert.equal((await s.t.db.message.findUniqueOrThrow({ where: { id } })).status, "processed");
  assert.deepEqual(await typesOf("313"), ["conversation.started", "message.received"]);
});

test("a button press is understood from its payload, answered, and acknowledged to the platform", async () => {
  await intent("order.return.confirm", [{ type: "text", text: "Return started." }]);
  understanding = understood("order.return.confirm");
  const id = await s.receive({ chat: "314", platformMessageId: "cbq-314", postback: { payload: "stop" } });
  assert.deepEqual(await handleMessage(deps, id), { intent: "order.return.confirm", replies: 1 });
  assert.deepEqual(asked.at(-1)!.message.postback, { payload: "stop" }, "a payload is never an opt-out word");
  assert.deepEqual(sentOnTelegram("314"), ["Return started."]);
  const ack = s.telegram.calls.filter((c) => c.method === "answerCallbackQuery");
  assert.deepEqual(
    ack.map((c) => c.params.callback_query_id),
    ["cbq-314"],
  );
});

test("a button press whose acknowledgement fails is still answered and processed", async () => {
  understanding = understood("order.return.confirm");
  s.telegram.failNext("answerCallbackQuery", { status: 400, description: "Bad Request: query is too old" });
  const id = await s.receive({ chat: "315", platformMessageId: "cbq-315", postback: { payload: "yes" } });
  assert.deepEqual(await handleMessage(deps, id), { intent: "order.return.confirm", replies: 1 });
  assert.deepEqual(sentOnTelegram("315"), ["Return started."]);
  assert.equal((await s.t.db.message.findUniqueOrThrow({ where: { id } })).status, "processed");
});

test("STOP opts the customer out of notifications with a confirmation, and is not a turn; a command of that name is", async () => {
  const asks = asked.length;
  const id = await receive({ chat: "316", text: "STOP" });
  assert.deepEqual(await handleMessage(deps, id), { replies: 1 });
  assert.equal(asked.length, asks);
  assert.deepEqual(sentTo("316"), ["You won't get notifications from us anymore. Send START to get them again."]);
  const identity = await s.t.db.contactIdentity.findFirstOrThrow({
    where: { channelAccountId: s.messenger.id, externalId: "316" },
    include: { contact: true },
  });
  assert.ok(identity.contact.optedOutAt);
  assert.equal((await s.t.db.message.findUniqueOrThrow({ where: { id } })).status, "processed");
  assert.ok(!(await typesOf("316")).includes("intent.matched"));

  await intent("stop.command", [{ type: "text", text: "Stopped the bot." }]);
  understanding = understood("stop.command");
  const command = await receive({ chat: "317", text: "stop", command: { name: "stop", args: "" } });
  assert.deepEqual(await handleMessage(deps, command), { intent: "stop.command", replies: 1 });
  assert.equal(await s.t.db.contactIdentity.count({ where: { externalId: "317" } }), 0);
});

test("the tenant's own opt-out words and confirmation", async () => {
  await s.t.db.tenant.update({
    where: { id: s.tenantId },
    data: { notificationSettings: { optOutWords: ["abmelden"], optOutReply: "Abgemeldet." } },
  });
  try {
    const id = await receive({ chat: "318", text: "Abmelden" });
    assert.deepEqual(await handleMessage(deps, id), { replies: 1 });
    assert.deepEqual(sentTo("318"), ["Abgemeldet."]);
  } finally {
    await s.t.db.tenant.update({ where: { id: s.tenantId }, data: { notificationSettings: {} } });
  }
});

test("a reply the platform refuses is reported as message.failed with the platform's error", async () => {
  await intent("refused", [{ type: "text", text: "You blocked me." }]);
  understanding = understood("refused");
  s.graph.failNext({ status: 400, code: 551, message: "This person isn't available right now." });
  const id = await receive({ chat: "319", text: "hi" });
  assert.deepEqual(await handleMessage(deps, id), { intent: "refused", replies: 1 });
  const [failed, ...more] = (await eventsOf("319")).filter(
    (e) => e.type.startsWith("message.") && e.type !== "message.received",
  );
  assert.equal(more.length, 0);
  assert.equal(failed!.type, "message.failed");
  assert.deepEqual(failed!.data.error, {
    platform: "messenger",
    code: "551",
    message: "This person isn't available right now.",
  });
  assert.equal(failed!.data.platformMessageId, null);
  assert.equal(failed!.data.inReplyTo, id);
});

test("a retryable send failure fails the turn, so that its job is retried: the message stays unprocessed", async () => {
  await intent("busy", [{ type: "text", text: "Busy." }]);
  understanding = understood("busy");
  s.graph.failNext({ status: 429, code: 4, message: "Application request limit reached", retryAfter: 60 });
  const id = await receive({ chat: "320", text: "hi" });
  await assert.rejects(handleMessage(deps, id), /request limit reached/);
  assert.equal((await s.t.db.message.findUniqueOrThrow({ where: { id } })).status, "received");
  assert.deepEqual(await typesOf("320"), [], "no event for a turn that did not commit");
  await handleMessage(deps, id);
  assert.deepEqual(sentTo("320"), ["Busy."]);
});

test("a malformed answer, at any depth, is an invalid answer: the intent's own responses are sent, the call recorded with why, the job does not fail", async () => {
  await intent("malformed", [{ type: "text", text: "Our shop is busy; here is the usual answer." }], {
    fulfilled: true,
  });
  const cases: [unknown, string][] = [
    [{ fulfillmentMessages: [{ text: { text: "hello" } }] }, "/fulfillmentMessages/0/text/text must be array"],
    [{ fulfillmentMessages: [null] }, "/fulfillmentMessages/0 must be object"],
    [
      { fulfillmentMessages: [{ card: { title: "T", buttons: { text: "Buy" } } }] },
      "/fulfillmentMessages/0/card/buttons must be array",
    ],
    [{ outputContexts: [{ lifespanCount: 2 }] }, "/outputContexts/0 must have required properties name"],
    [
      { fulfillmentMessages: [{ quickReplies: { quickReplies: [1] } }] },
      "/fulfillmentMessages/0/quickReplies/quickReplies/0 must be string",
    ],
    [
      { fulfillmentMessages: [{ payload: { facebook: "hi" } }] },
      "/fulfillmentMessages/0/payload/facebook must be object",
    ],
    [{ fulfillmentText: "ok", payload: { facebook: [1] } }, "/payload/facebook must be object"],
    [
      { fulfillmentText: "ok", followupEventInput: { parameters: {} } },
      "/followupEventInput must have required properties name",
    ],
    [{ fulfillmentMessages: [{ image: { imageUri: 1 } }] }, "/fulfillmentMessages/0/image/imageUri must be string"],
  ];
  for (const [n, [body, why]] of cases.entries()) {
    answers.set("malformed", () => ({ body }));
    understanding = understood("malformed", { state: { contexts: [{ name: "nlu", lifespanCount: 1 }] } });
    const chat = `39${n}`;
    const id = await receive({ chat, text: "hi" });
    const before = backend.received.length;
    assert.deepEqual(await handleMessage(deps, id), { intent: "malformed", replies: 1 }, why);
    assert.equal(backend.received.length, before + 1, `${why}: the backend asked once`);
    assert.deepEqual(sentTo(chat), ["Our shop is busy; here is the usual answer."], why);
    const calls = await fulfillmentCalls(id);
    assert.deepEqual(
      calls.map((c) => [c.ok, c.httpStatus, c.error, c.errorClass, c.responseBody]),
      [[false, null, `invalid answer: ${why}`, "invalid_response", JSON.stringify(body)]],
    );
    const failed = (await eventsOf(chat)).filter((e) => e.type === "fulfillment.failed");
    assert.deepEqual(
      failed.map((e) => e.data.error),
      [`invalid answer: ${why}`],
    );
    assert.equal((await s.t.db.message.findUniqueOrThrow({ where: { id } })).status, "processed");
    assert.deepEqual((await conversationOf(chat)).state, understanding.state, `${why}: no contexts from it`);
  }
});

test("a retried turn keeps its fulfillment ids: the same responseId and webhook-id reach the backend, one per follow-up", async () => {
  const signed = await s.t.db.fulfillmentEndpoint.create({
    data: {
      tenantId: s.tenantId,
      name: "signed",
      url: backend.url,
      timeoutMs: 2000,
      secrets: s.sealer.sealJson({ signingSecrets: [generateSigningSecret()] }),
    },
  });
  for (const [name, events] of [
    ["ticket.open", []],
    ["ticket.opened", ["ticket-opened"]],
  ] as const)
    await s.t.db.intent.create({
      data: {
        tenantId: s.tenantId,
        name,
        events: [...events],
        examples: [],
        responses: [],
        fulfillmentEndpointId: signed.id,
      },
    });
  answers.set("ticket.open", () => ({
    body: { fulfillmentText: "Opening a ticket.", followupEventInput: { name: "ticket-opened" } },
  }));
  answers.set("ticket.opened", () => ({
    body: { outputContexts: [{ name: "ticket", lifespanCount: 2 }], fulfillmentText: "Ticket opened." },
  }));
  understanding = understood("ticket.open");
  // The turn fails after the backends answered and before its replies are stored (a crash there).
  let crash = true;
  const crashing: TurnDeps = {
    ...deps,
    applyContexts: (state, contexts) => {
      if (crash) throw new Error("the worker died");
      return applyContexts(state, contexts);
    },
  };
  const id = await receive({ chat: "340", text: "open a ticket" });
  const before = backend.received.length;
  await assert.rejects(handleMessage(crashing, id), /the worker died/);
  crash = false;
  assert.deepEqual(await handleMessage(crashing, id), { intent: "ticket.open", replies: 1 });
  const calls = backend.received.slice(before).map((r, n) => ({
    intent: r.queryResult.intent.displayName,
    responseId: r.responseId,
    webhookId: backend.headers[before + n]!["webhook-id"],
  }));
  const first = [
    { intent: "ticket.open", responseId: `${id}-0`, webhookId: `msg_${id}-0` },
    { intent: "ticket.opened", responseId: `${id}-1`, webhookId: `msg_${id}-1` },
  ];
  assert.deepEqual(calls, [...first, ...first], "the retry's calls carry the first run's ids");
  // As Dialogflow: the first backend's text is dropped when its event triggers another intent.
  assert.deepEqual(sentTo("340"), ["Ticket opened."]);
  assert.equal((await fulfillmentCalls(id)).length, 4, "every attempt is recorded");
});

test("once its replies are chosen a turn is not done again: a retry after a failed send sends what is pending, with the state decided the first time", async () => {
  await intent("order.refund", [{ type: "text", text: "static refund" }], { fulfilled: true });
  let n = 0;
  answers.set("order.refund", () => {
    n++;
    return {
      body: {
        fulfillmentMessages: [{ text: { text: [`Refund ${n} started.`] } }, { text: { text: [`Reference R-${n}.`] } }],
        outputContexts: [{ name: "refund", lifespanCount: 2, parameters: { attempt: n } }],
      },
    };
  });
  understanding = understood("order.refund", { state: {} });
  const asks = asked.length;
  s.graph.failNext({ status: 429, code: 4, message: "Application request limit reached", retryAfter: 60 });
  const id = await receive({ chat: "341", text: "refund please" });
  await assert.rejects(handleMessage(deps, id), /request limit reached/);
  // Every reply was stored before the first was sent.
  const conversation = await conversationOf("341");
  const rows = () =>
    s.t.db.message.findMany({
      where: { conversationId: conversation.id, direction: "out" },
      orderBy: { dedupeKey: "asc" },
    });
  assert.deepEqual(
    (await rows()).map((r) => [r.dedupeKey, r.status, (r.content as { text: string }).text]),
    [
      [`${id}:0`, "pending", "Refund 1 started."],
      [`${id}:1`, "pending", "Reference R-1."],
    ],
  );
  assert.deepEqual(conversation.state, {}, "the state is kept when the turn finishes");

  // The job's retry: no understanding, no backend call; the stored replies go, in order.
  understanding = understood("order.refund", { state: { contexts: [{ name: "other", lifespanCount: 5 }] } });
  assert.deepEqual(await handleMessage(deps, id), { intent: "order.refund", replies: 2 });
  assert.equal(n, 1, "the backend was called once");
  assert.equal(asked.length, asks + 1, "understood once");
  assert.deepEqual(sentTo("341"), ["Refund 1 started.", "Reference R-1."]);
  assert.deepEqual(
    (await rows()).map((r) => r.status),
    ["sent", "sent"],
  );
  assert.deepEqual((await conversationOf("341")).state, {
    contexts: [{ name: "refund", lifespanCount: 2, parameters: { attempt: 1 } }],
  });
  const inbound = await s.t.db.message.findUniqueOrThrow({ where: { id } });
  assert.equal(inbound.status, "processed");
  assert.equal(inbound.plan, null, "the plan is done with");
  assert.deepEqual((inbound.turn as { contexts: unknown }).contexts, [{ name: "refund", lifespanCount: 2 }]);
  assert.deepEqual(
    (await eventsOf("341")).map((e) => e.type).sort(),
    ["conversation.started", "intent.matched", "message.received", "message.sent", "message.sent"],
    "each event once",
  );
  assert.equal((await fulfillmentCalls(id)).length, 1);

  // A retry after the first of two replies went out sends only the second.
  let sends = 0;
  const flaky: TurnDeps = {
    ...deps,
    accounts: {
      ...s.accounts,
      async sender(accountId) {
        const real = await s.accounts.sender(accountId);
        return {
          ...real,
          send: (to, reply, context) => {
            if (++sends === 2)
              throw new PlatformError("messenger", "2", "Service temporarily unavailable", true, 60_000);
            return real.send(to, reply, context);
          },
        };
      },
    },
  };
  const second = await receive({ chat: "342", text: "another refund" });
  await assert.rejects(handleMessage(flaky, second), /temporarily unavailable/);
  assert.deepEqual(sentTo("342"), ["Refund 2 started."]);
  assert.deepEqual(await handleMessage(flaky, second), { intent: "order.refund", replies: 2 });
  assert.equal(n, 2);
  assert.deepEqual(sentTo("342"), ["Refund 2 started.", "Reference R-2."], "the first not again");
});

test("two runs of one turn at once (a worker declared dead while still running): the plan stored first is the one sent, and a finished turn is not finished again", async () => {
  await intent("order.gift", [], { fulfilled: true });
  let n = 0;
  answers.set("order.gift", () => {
    n++;
    return {
      body: {
        fulfillmentText: `Gift wrap ${n}.`,
        outputContexts: [{ name: "gift", lifespanCount: 1, parameters: { n } }],
      },
    };
  });
  understanding = understood("order.gift", { state: {} });
  // This run is overtaken while it understands: `other` runs the same turn meanwhile.
  const overtaken = (other: () => Promise<unknown>): TurnDeps => ({
    ...deps,
    understand: async (input) => {
      await other();
      return deps.understand(input);
    },
  });

  const id = await receive({ chat: "343", text: "gift wrap it" });
  s.graph.failNext({ status: 429, code: 4, message: "Application request limit reached", retryAfter: 60 });
  const late = await handleMessage(
    overtaken(() => assert.rejects(handleMessage(deps, id), /request limit reached/)),
    id,
  );
  assert.deepEqual(late, { intent: "order.gift", replies: 1 });
  assert.equal(n, 2, "both runs called the backend");
  assert.deepEqual(sentTo("343"), ["Gift wrap 1."], "the other run's plan, stored first, is the one sent");
  assert.deepEqual((await conversationOf("343")).state, {
    contexts: [{ name: "gift", lifespanCount: 1, parameters: { n: 1 } }],
  });
  assert.deepEqual(
    (await typesOf("343")).filter((t) => t !== "conversation.started"),
    ["intent.matched", "message.received", "message.sent"],
  );

  const second = await receive({ chat: "344", text: "gift wrap again" });
  const stopped = await handleMessage(
    overtaken(() => handleMessage(deps, second)),
    second,
  );
  assert.deepEqual(stopped, { replies: 0, skipped: "already processed" });
  assert.deepEqual(sentTo("344"), ["Gift wrap 3."]);
  assert.equal((await typesOf("344")).filter((t) => t === "message.sent").length, 1, "finished once");
});
