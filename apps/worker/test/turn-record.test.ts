import { after, before, test } from "node:test";
import { postgresSendLimits } from "@cb/core";
import assert from "node:assert/strict";
import { newKey } from "@cb/admin-api";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory } from "@cb/conversation";
import { captureLogs } from "@cb/logging/testing";
import { startWorkerRole } from "../src/index.ts";
import { startReceiverForTests } from "./receiver.ts";
import { sleep, startStack, textUpdate, type Stack } from "./support.ts";

// What each turn did is kept with its inbound message, shown by the admin API and logged at debug: why the
// bot answered as it did, and why it said nothing.
let stack: Stack;
let backend: Awaited<ReturnType<typeof startReceiverForTests>>;
let backendDown = false;
let apiKey: string;
const { logger, lines: logLines } = captureLogs("debug");

before(async () => {
  backend = await startReceiverForTests((body) => {
    if (backendDown) return { status: 503, body: "unavailable" };
    const { session, queryResult } = JSON.parse(body);
    return {
      status: 200,
      body: JSON.stringify({
        fulfillmentText: `Order ${queryResult.parameters.order_id} has shipped.`,
        // A backend echoing its credential: the transcript must not show it.
        payload: { token: "k-secret-4711" },
        outputContexts: [{ name: `${session}/contexts/order-followup`, lifespanCount: 2 }],
      }),
    };
  });
  stack = await startStack({ worker: false });
  stack.worker = await startWorkerRole({
    databaseUrl: stack.t.url,
    db: stack.t.db,
    pool: stack.t.pool,
    sealer: stack.sealer,
    accounts: createAccountDirectory({
      db: stack.t.db,
      sealer: stack.sealer,
      drivers: [telegramDriver],
      env: { TELEGRAM_API_ROOT: stack.telegram.url },
      limits: postgresSendLimits(stack.t.pool),
    }),
    logger,
    config: { WORKER_CONCURRENCY: 2, EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" },
  });
  const endpoint = await stack.t.db.fulfillmentEndpoint.create({
    data: {
      tenantId: stack.tenantId,
      name: "orders",
      url: backend.url,
      timeoutMs: 2000,
      secrets: stack.sealer.sealJson({ headers: { "x-api-key": "k-secret-4711" } }),
    },
  });
  await stack.t.db.entityType.create({
    data: { tenantId: stack.tenantId, name: "order_id", kind: "pattern", pattern: "\\b\\d{5}\\b" },
  });
  // No fallback intent: what nothing matches goes to one the tenant never defined.
  await stack.t.db.intent.createMany({
    data: [
      {
        tenantId: stack.tenantId,
        name: "greeting",
        examples: ["hi", "hello", "good morning", "hey there"],
        responses: [{ type: "text", text: "Hello!" }],
      },
      {
        tenantId: stack.tenantId,
        name: "order.status",
        examples: ["where is my order", "track my package", "has my order shipped", "status of order 12345"],
        parameters: [
          { name: "order_id", entity: "@order_id", required: true, prompts: ["What is your order number?"] },
        ],
        responses: [{ type: "text", text: "The order system is down." }],
        fulfillmentEndpointId: endpoint.id,
      },
      {
        tenantId: stack.tenantId,
        name: "opening.hours",
        examples: ["when are you open", "opening hours", "what time do you close", "are you open on sunday"],
      },
    ],
  });
  const key = newKey();
  await stack.t.db.apiKey.create({
    data: {
      id: key.id,
      tenantId: stack.tenantId,
      name: "test",
      scopes: ["read-only"],
      secretHash: key.hash,
      hint: key.secret.slice(-4),
    },
  });
  apiKey = key.key;
});
after(async () => {
  await stack.close();
  await backend.close();
});

const get = async (url: string) => {
  const response = await stack.app.inject({ method: "GET", url, headers: { authorization: `Bearer ${apiKey}` } });
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
};

interface ApiMessage {
  id: string;
  direction: string;
  status: string;
  // Every turn here is understood: none is skipped, so each has its fulfillment.
  turn: Record<string, unknown> & {
    fulfillment: { status: string; responses: number; calls: Record<string, unknown>[] };
  };
}

/** Posts `update` from chat `chat` and returns its inbound message once its turn is recorded, read through the API. */
async function recorded(update: object, chat: number): Promise<ApiMessage> {
  assert.equal(await stack.post(update), 200);
  for (let i = 0; i < 100; i++) {
    const { data: conversations } = await get(
      `/v1/conversations?externalId=${chat}&channelAccountId=${stack.accountId}`,
    );
    if (conversations.length) {
      assert.equal(conversations.length, 1);
      const { data } = await get(`/v1/conversations/${conversations[0].id}/messages?limit=50`);
      const inbound = (data as ApiMessage[]).find((m) => m.direction === "in");
      if (inbound?.status === "processed") return inbound;
    }
    await sleep(100);
  }
  throw new Error(`the turn for ${JSON.stringify(update)} was never recorded`);
}

const say = (text: string, chat: number) => recorded(textUpdate(text, chat), chat);

const logged = (messageId: string) => logLines.find((l) => l.msg === "turn" && l.messageId === messageId);

test("a fulfilled turn records intent, confidence, parameters, contexts and the call, and logs it at debug", async () => {
  const message = await say("where is my order 12345", 801);
  const { turn } = message;
  assert.equal(turn.intent, "order.status");
  assert.ok((turn.confidence as number) > 0.25 && (turn.confidence as number) <= 1, `confidence ${turn.confidence}`);
  assert.deepEqual(turn.parameters, { order_id: "12345" });
  assert.deepEqual(turn.contexts, [{ name: "order-followup", lifespanCount: 2 }]);
  assert.equal(turn.replies, 1);
  assert.equal(typeof turn.latencyMs, "number");
  const { fulfillment } = turn;
  assert.equal(fulfillment.status, "ok");
  assert.equal(fulfillment.responses, 1);
  assert.equal(fulfillment.calls.length, 1);
  assert.equal(fulfillment.calls[0]?.httpStatus, 200);
  assert.equal(fulfillment.calls[0]?.ok, true);
  // The same as FulfillmentCall keeps.
  const call = await stack.t.db.fulfillmentCall.findFirstOrThrow({ where: { messageId: message.id } });
  assert.equal(fulfillment.calls[0]?.latencyMs, call.latencyMs);
  assert.equal(fulfillment.calls[0]?.id, call.id, "the call names its row");
  // What went over the wire, credentials redacted.
  const { request, response } = fulfillment.calls[0] as {
    request: { headers: Record<string, string>; body: string };
    response: { body: string };
  };
  assert.equal(request.headers["x-api-key"], "[redacted]");
  assert.equal(request.headers["content-type"], "application/json");
  assert.equal(JSON.parse(request.body).queryResult.queryText, "where is my order 12345");
  assert.equal(JSON.parse(response.body).fulfillmentText, "Order 12345 has shipped.");
  assert.ok(!JSON.stringify(message).includes("k-secret-4711"), "no credential in the transcript");
  // Where the time went: the fulfillment stage holds the call; the stages fit in the turn.
  const stages = turn.stages as { understandMs: number; fulfillMs: number; sendMs: number };
  assert.deepEqual(Object.keys(stages), ["understandMs", "fulfillMs", "sendMs"]);
  for (const ms of Object.values(stages)) assert.ok(Number.isInteger(ms) && ms >= 0);
  assert.ok(stages.fulfillMs >= call.latencyMs, `fulfill ${stages.fulfillMs} ms holds the call's ${call.latencyMs} ms`);
  assert.ok(stages.understandMs + stages.fulfillMs + stages.sendMs <= (turn.latencyMs as number) + 2);

  const line = logged(message.id);
  assert.ok(line, "the turn is logged at debug");
  assert.equal(line.level, 20);
  // The log has the record as kept; the API adds each call's exchange from its row.
  const calls = fulfillment.calls.map(({ request: _request, response: _response, ...kept }) => kept);
  assert.deepEqual(line.turn, { ...turn, fulfillment: { ...fulfillment, calls } });
  assert.equal(line.tenantId, stack.tenantId);
});

test("a failed fulfillment, a prompt for a missing parameter, and a plain static answer", async () => {
  backendDown = true;
  try {
    const failed = (await say("has my order 54321 shipped", 802)).turn;
    assert.equal(failed.intent, "order.status");
    assert.equal(failed.fulfillment.status, "failed");
    assert.equal(failed.fulfillment.calls[0]?.ok, false);
    assert.equal(failed.fulfillment.calls[0]?.httpStatus, 503);
    assert.equal(typeof failed.fulfillment.calls[0]?.error, "string");
    assert.equal(failed.replies, 1, "the intent's own response stood in");
  } finally {
    backendDown = false;
  }

  const prompt = (await say("track my package", 803)).turn;
  assert.equal(prompt.intent, "order.status");
  assert.deepEqual(prompt.fulfillment, { status: "prompt", responses: 0, calls: [] });
  assert.equal(prompt.replies, 1);

  const greeting = (await say("hello", 804)).turn;
  assert.equal(greeting.intent, "greeting");
  assert.deepEqual(greeting.fulfillment, { status: "none", responses: 1, calls: [] });
  assert.deepEqual(greeting.contexts, []);
});

test("when the bot says nothing, the record says why", async () => {
  const silent = (await say("what are your opening hours", 805)).turn;
  assert.equal(silent.intent, "opening.hours");
  assert.deepEqual(silent.fulfillment, { status: "none", responses: 0, calls: [] });
  assert.equal(silent.replies, 0);

  const unmatched = (await say("zebra quantum marmalade", 806)).turn;
  assert.equal(unmatched.intent, "Default Fallback Intent");
  assert.deepEqual(unmatched.fulfillment, { status: "no intent", responses: 0, calls: [] });
  assert.equal(unmatched.replies, 0);

  await sleep(300);
  const sent = stack.telegram.calls.filter((c) => ["805", "806"].includes(String(c.params.chat_id)));
  assert.deepEqual(sent, [], "nothing was sent");
});

test("a message handled without understanding it is recorded as skipped, with why", async () => {
  const stop = (await say("STOP", 807)).turn;
  assert.equal(stop.skipped, "opt-out keyword");
  assert.equal(stop.replies, 1, "the opt-out is confirmed");
  assert.equal(stop.intent, undefined);

  const sticker = textUpdate("", 808) as { message: Record<string, unknown> };
  delete sticker.message.text;
  sticker.message.sticker = { file_id: "s1", file_unique_id: "u1", width: 1, height: 1, is_animated: false };
  const message = await recorded(sticker, 808);
  assert.deepEqual({ ...message.turn, latencyMs: 0 }, { skipped: "nothing to answer", replies: 0, latencyMs: 0 });
});

test("conversations can be found by their platform id; the filters are validated", async () => {
  const { data } = await get(`/v1/conversations?externalId=801`);
  assert.equal(data.length, 1);
  assert.equal(data[0].externalId, "801");
  assert.deepEqual((await get(`/v1/conversations?externalId=999999`)).data, []);
  const bad = await stack.app.inject({
    method: "GET",
    url: "/v1/conversations?channelAccountId=not-a-uuid",
    headers: { authorization: `Bearer ${apiKey}` },
  });
  assert.equal(bad.statusCode, 400);
});
