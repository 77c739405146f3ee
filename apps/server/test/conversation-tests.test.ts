import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createEgress, parsePolicy } from "@cb/egress";
import type { FastifyInstance } from "fastify";
import { startAdminServer, type AdminServer } from "./support.ts";

// Conversation tests through the admin API: the real turn engine (model, slot filling, contexts,
// fulfillment on a strict fake backend on loopback), nothing stored or sent; expectations compared;
// a bad file refused with where in it.
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
let server: AdminServer;
let app: FastifyInstance;
let backend: Server;
let key: string;
let tenantId: string;
/** The WebhookRequests the backend got. */
const received: any[] = [];

const run = (payload: unknown, as = key) =>
  app.inject({
    method: "POST",
    url: "/v1/conversation-tests",
    headers: { authorization: `Bearer ${as}` },
    payload: payload as object,
  });
const post = async (url: string, payload: object) => {
  const response = await app.inject({ method: "POST", url, headers: { authorization: `Bearer ${key}` }, payload });
  assert.equal(response.statusCode, 201, response.body);
  return response.json();
};

before(async () => {
  backend = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const request = JSON.parse(body);
      received.push(request);
      const orderId = request.queryResult.parameters.order_id;
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ fulfillmentMessages: [{ text: { text: [`Order ${orderId} is shipped.`] } }] }));
    });
  });
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  server = await startAdminServer({ admin: { egress } });
  app = server.app;
  ({ tenantId, key } = await server.tenant("Acme"));
  const { endpoint } = await post("/v1/fulfillment-endpoints", {
    name: "shop",
    url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}/hook`,
  });
  await post("/v1/entity-types", { name: "order_id", kind: "pattern", pattern: "\\b\\d{5}\\b" });
  await post("/v1/intents", {
    name: "greeting",
    examples: ["hi", "hello", "good morning", "hey there"],
    responses: [{ type: "text", text: "Hello!" }],
  });
  await post("/v1/intents", {
    name: "order.status",
    examples: ["where is my order", "track my parcel", "has my order shipped", "status of order 12345"],
    parameters: [{ name: "order_id", entity: "@order_id", required: true, prompts: ["Your order number?"] }],
    outputContexts: [{ name: "order", lifespan: 2 }],
    fulfillmentEndpointId: endpoint.id,
  });
  await post("/v1/intents", {
    name: "welcome",
    examples: [],
    events: ["WELCOME"],
    responses: [{ type: "text", text: "Welcome to the shop!" }],
  });
  // Matched only while the order context is active: the dialog state carried from turn to turn.
  await post("/v1/intents", {
    name: "order.cancel",
    examples: ["cancel it", "cancel that order"],
    inputContexts: ["order"],
    responses: [{ type: "text", text: "Cancelled." }],
  });
  await post("/v1/intents", {
    name: "fallback",
    examples: [],
    isFallback: true,
    responses: [{ type: "text", text: "Sorry?" }],
  });
});
after(async () => {
  await server.close();
  backend.close();
  await egress.close();
});

const orderConversation = {
  name: "order status",
  turns: [
    { user: "hello", intent: "greeting", reply: "Hello!" },
    { user: "where is my order", intent: "order.status", reply: "Your order number?" },
    {
      user: "it is 12345",
      intent: "order.status",
      parameters: { order_id: "12345" },
      replyMatches: "^Order 12345 is shipped\\.$",
      contexts: ["order"],
    },
    { user: "cancel it", intent: "order.cancel", reply: "Cancelled." },
  ],
};

test("a conversation runs through the real engine: slot filling, its backend, contexts; nothing stored", async () => {
  const response = await run({ conversations: [orderConversation] });
  assert.equal(response.statusCode, 200, response.body);
  const report = response.json();
  assert.equal(report.passed, true, response.body);
  const [, prompt, done, cancelled] = report.conversations[0].turns;
  assert.equal(cancelled.intent, "order.cancel");
  assert.deepEqual(prompt.replies, ["Your order number?"]);
  assert.equal(prompt.fulfillment.status, "prompt");
  assert.deepEqual(done.parameters.order_id, "12345");
  assert.equal(done.fulfillment.status, "ok");
  assert.equal(done.fulfillment.calls[0].httpStatus, 200);
  // The backend was called as for a customer, told it is a test, in a session of the test's own.
  assert.equal(received.length, 1);
  assert.equal(received[0].queryResult.parameters.order_id, "12345");
  assert.deepEqual(received[0].originalDetectIntentRequest.payload.data, { test: true });
  // Nothing of it was stored: no conversation, message or fulfillment call.
  const db = server.t.db;
  assert.equal(await db.conversation.count({ where: { tenantId } }), 0);
  assert.equal(await db.message.count({ where: { tenantId } }), 0);
  assert.equal(await db.fulfillmentCall.count({ where: { tenantId } }), 0);
});

test("each turn's expectations are compared: what differed is reported, and the run fails", async () => {
  const response = await run({
    conversations: [
      { name: "passes", turns: [{ user: "hi", intent: "greeting" }] },
      {
        name: "fails",
        turns: [
          { user: "hi", intent: "order.status", reply: "Good day", replyMatches: "^Hi" },
          { user: "status of order 54321", parameters: { order_id: "12345" }, contexts: ["order", "returns"] },
        ],
      },
    ],
  });
  assert.equal(response.statusCode, 200, response.body);
  const report = response.json();
  assert.equal(report.passed, false);
  assert.equal(report.conversations[0].passed, true);
  assert.equal(report.conversations[1].passed, false);
  const [first, second] = report.conversations[1].turns;
  assert.deepEqual(first.failures, [
    { field: "intent", expected: "order.status", actual: "greeting" },
    { field: "reply", expected: "Good day", actual: "Hello!" },
    { field: "replyMatches", expected: "^Hi", actual: "Hello!" },
  ]);
  assert.deepEqual(second.failures, [
    { field: "parameters", expected: { order_id: "12345" }, actual: { order_id: "54321" } },
    { field: "contexts", expected: ["order", "returns"], actual: ["order"] },
  ]);
});

test("each conversation starts afresh: no state carried from the one before", async () => {
  const response = await run({
    conversations: [
      { name: "sets a context", turns: [{ user: "status of order 12345", contexts: ["order"] }] },
      { name: "has none", turns: [{ user: "hi", intent: "greeting" }] },
    ],
  });
  const report = response.json();
  assert.equal(report.passed, true, response.body);
  assert.deepEqual(report.conversations[1].turns[0].contexts, []);
});

test("a turn can be an event instead of text, as a platform's start button fires one", async () => {
  const response = await run({
    conversations: [
      { name: "starts", turns: [{ event: "WELCOME", intent: "welcome", reply: "Welcome to the shop!" }] },
    ],
  });
  const report = response.json();
  assert.equal(report.passed, true, response.body);
  assert.equal(report.conversations[0].turns[0].said, "event WELCOME");
});

test("a bad file is refused with the path inside it, before anything runs", async () => {
  const before = received.length;
  const both = await run({ conversations: [{ name: "x", turns: [{ user: "hi", event: "WELCOME" }] }] });
  assert.equal(both.statusCode, 400);
  assert.equal(both.json().error.message, "/conversations/0/turns/0: a turn needs exactly one of user and event");
  const neither = await run({ conversations: [{ name: "x", turns: [{ user: "hi" }, { intent: "greeting" }] }] });
  assert.match(neither.json().error.message, /^\/conversations\/0\/turns\/1: /);
  const pattern = await run({ conversations: [{ name: "x", turns: [{ user: "hi", replyMatches: "(" }] }] });
  assert.equal(pattern.statusCode, 400);
  assert.match(pattern.json().error.message, /^\/conversations\/0\/turns\/0\/replyMatches: Invalid regular expression/);
  const unknown = await run({ conversations: [{ name: "x", turns: [{ user: "hi", intnet: "greeting" }] }] });
  assert.equal(unknown.statusCode, 400);
  assert.match(unknown.json().error.message, /intnet/);
  assert.equal((await run({ conversations: [] })).statusCode, 400);
  const fax = await run({ conversations: [{ name: "x", channel: "fax", turns: [{ user: "hi" }] }] });
  assert.equal(fax.statusCode, 400);
  assert.match(fax.json().error.message, /^\/conversations\/0\/channel: unknown channel; one of .*instagram.*webchat/);
  assert.equal(received.length, before);
});

test("a conversation can be on any channel of the registry, those added later included", async () => {
  for (const channel of ["instagram", "webchat"]) {
    const response = await run({
      conversations: [{ name: channel, channel, turns: [{ event: "WELCOME", reply: "Welcome to the shop!" }] }],
    });
    assert.equal(response.json().passed, true, response.body);
  }
});

test("it needs an admin: a read-only key is refused", async () => {
  const reader = await post("/v1/api-keys", { name: "dashboards", scopes: ["read-only"] });
  const response = await run({ conversations: [orderConversation] }, reader.key);
  assert.equal(response.statusCode, 403);
});

test("a run has a time limit: turns not reached by then are not run, and their conversation fails", async () => {
  const slow = createServer((_req, res) => {
    setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end("{}"), 400);
  });
  await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
  const limited = await startAdminServer({ admin: { egress, conversationTestsTimeLimitMs: 300 } });
  try {
    const { key: limitedKey } = await limited.tenant("Slow");
    const as = { authorization: `Bearer ${limitedKey}` };
    const { endpoint } = (
      await limited.app.inject({
        method: "POST",
        url: "/v1/fulfillment-endpoints",
        headers: as,
        payload: { name: "slow", url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/hook` },
      })
    ).json();
    await limited.app.inject({
      method: "POST",
      url: "/v1/intents",
      headers: as,
      payload: {
        name: "hello",
        examples: ["hi", "hello"],
        responses: [{ type: "text", text: "Hi!" }],
        fulfillmentEndpointId: endpoint.id,
      },
    });
    const response = await limited.app.inject({
      method: "POST",
      url: "/v1/conversation-tests",
      headers: as,
      payload: {
        conversations: [
          { name: "cut short", turns: [{ user: "hi" }, { user: "hello" }] },
          { name: "never started", turns: [{ user: "hi" }] },
        ],
      },
    });
    const report = response.json();
    assert.equal(report.passed, false, response.body);
    assert.deepEqual(
      report.conversations.map((c: { passed: boolean; turns: unknown[]; stopped?: string }) => [
        c.passed,
        c.turns.length,
        c.stopped,
      ]),
      [
        [false, 1, "time limit"],
        [false, 0, "time limit"],
      ],
    );
  } finally {
    await limited.close();
    slow.close();
  }
});
