import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Pool } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createEgress, parsePolicy } from "@cb/egress";
import { createFulfillmentClient } from "@cb/fulfillment";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { createModelStore, createTrainer, trainTenantModel } from "@cb/nlu";
import {
  applyContexts,
  createFulfill,
  createUnderstand,
  type FulfillmentInput,
  type TenantInfo,
  type Understanding,
} from "../src/index.ts";
import { startBackend, inbound as message, startLocalServer } from "./support.ts";

let t: TestDatabase;
let tenant: TenantInfo;
// A local OpenAI-compatible model server: it names `llmIntent` for whatever it is asked.
let llm: Awaited<ReturnType<typeof startLocalServer>>;
let llmUrl: string;
const llmRequests: { model: string; text: string; auth: string | undefined }[] = [];
let llmIntent = "support.ticket";

before(async () => {
  t = await createTestDatabase();
  const row = await t.db.tenant.create({ data: { name: "Acme", timezone: "Europe/Berlin" } });
  tenant = { id: row.id, language: "en", timezone: "Europe/Berlin" };
  await t.db.entityType.create({
    data: { tenantId: row.id, name: "order_id", kind: "pattern", pattern: "\\b\\d{5}\\b" },
  });
  await t.db.intent.createMany({
    data: [
      { tenantId: row.id, name: "greeting", examples: ["hi", "hello", "good morning", "hey there"] },
      {
        tenantId: row.id,
        name: "order.status",
        examples: ["where is my order", "track my package", "has my order shipped", "status of order 12345"],
        parameters: [{ name: "order_id", entity: "@order_id", required: true, prompts: ["Your order number?"] }],
      },
      {
        tenantId: row.id,
        name: "support.ticket",
        examples: ["I need to talk to a human", "open a support ticket", "talk to support"],
      },
      { tenantId: row.id, name: "fallback", examples: [], isFallback: true },
    ],
  });
  llm = await startLocalServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw);
      llmRequests.push({ model: body.model, text: body.messages.at(-1).content, auth: req.headers.authorization });
      const content = JSON.stringify({ intent: llmIntent, confidence: 0.9, parameters: {} });
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id: "c",
          object: "chat.completion",
          created: 1,
          model: body.model,
          choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content } }],
        }),
      );
    });
  });
  llmUrl = `${llm.origin}/v1`;
});
after(async () => {
  await llm.close();
  await t.drop();
});

const UNSURE = "yo the thingy from last week never showed up";

test("understanding through the tenant's own model: intents, parameters asked for, the state carried", async () => {
  const understand = createUnderstand(t.db, { pool: t.pool });
  const hello = await understand({ tenant, message: message({ text: "hello there" }), state: undefined });
  assert.equal(hello.intent, "greeting");
  const asked = await understand({ tenant, message: message({ text: "where is my order" }), state: {} });
  assert.equal(asked.intent, "order.status");
  assert.equal(asked.prompt, "Your order number?");
  // The state kept from that turn makes the next message the answer.
  const answered = await understand({ tenant, message: message({ text: "it's 12345" }), state: asked.state });
  assert.equal(answered.intent, "order.status");
  assert.deepEqual(answered.parameters, { order_id: "12345" });
  assert.equal(answered.allRequiredParamsPresent, true);
});

test("a button press is understood from its payload", async () => {
  const understand = createUnderstand(t.db, { pool: t.pool });
  const pressed = await understand({
    tenant,
    message: message({ postback: { payload: "support.ticket" } }),
    state: undefined,
  });
  assert.deepEqual([pressed.intent, pressed.confidence], ["support.ticket", 1]);
});

test("a training revision read with the message names the model used, once its training job has stored it", async () => {
  // The store's queries, by name: a revision given is not read again.
  const queried: string[] = [];
  const pool = {
    query: (query: { name?: string }) => {
      if (query.name) queried.push(query.name);
      return t.pool.query(query as Parameters<Pool["query"]>[0]);
    },
  } as unknown as Pool;
  const understand = createUnderstand(t.db, {
    store: createModelStore(t.db, { pool, recheckMs: 0, quickModelBudget: 0 }),
  });
  const train = () => trainTenantModel(t.db, tenant.id, { trainer: createTrainer() });
  const revision = async () =>
    String((await t.db.tenant.findUniqueOrThrow({ where: { id: tenant.id } })).trainingRevision);
  await train();
  const stale = await revision();
  const ask = (trainingRevision?: string) =>
    understand({
      tenant: { ...tenant, ...(trainingRevision !== undefined ? { trainingRevision } : {}) },
      message: message({ text: "I want a refund" }),
      state: undefined,
    });
  assert.notEqual((await ask(stale)).intent, "refund");
  const intent = await t.db.intent.create({
    data: { tenantId: tenant.id, name: "refund", examples: ["I want a refund", "give me my money back", "refund it"] },
  });
  try {
    assert.notEqual((await ask(await revision())).intent, "refund", "until its job has trained it, the previous model");
    await train();
    assert.equal((await ask(await revision())).intent, "refund");
    queried.length = 0;
    assert.equal((await ask(await revision())).intent, "refund");
    assert.deepEqual(queried, [], "the revision given is the one used: nothing read for the model in memory");
    assert.equal((await ask()).intent, "refund", "without one, the store reads it");
    assert.deepEqual(queried, ["nlu-training-version"]);
  } finally {
    await t.db.intent.delete({ where: { id: intent.id } });
  }
});

test("hybrid tenants ask the deployment's model when their own is unsure; others never do", async () => {
  const understand = createUnderstand(t.db, { pool: t.pool, llm: { baseURL: llmUrl, apiKey: "sk-test" } });
  const ask = (nluSettings: TenantInfo["nluSettings"] | undefined, text = UNSURE) =>
    understand({
      tenant: { ...tenant, ...(nluSettings ? { nluSettings } : {}) },
      message: message({ text }),
      state: undefined,
    });

  assert.equal((await ask(undefined)).intent, "fallback");
  assert.equal((await ask({ mode: "offline", model: "m1" })).intent, "fallback");
  assert.equal((await ask({ mode: "hybrid" })).intent, "fallback", "hybrid without a model named");
  assert.equal(llmRequests.length, 0);

  assert.equal((await ask({ mode: "hybrid", model: "m1" })).intent, "support.ticket");
  assert.deepEqual(llmRequests, [{ model: "m1", text: UNSURE, auth: "Bearer sk-test" }]);
  assert.equal((await ask({ mode: "hybrid", model: "m1" }, "hello")).intent, "greeting", "sure: not asked");
  // One classifier per model, kept: its answers are cached.
  await ask({ mode: "hybrid", model: "m1" });
  assert.equal(llmRequests.length, 1);
  llmIntent = "greeting";
  assert.equal((await ask({ mode: "hybrid", model: "m2" })).intent, "greeting");
  assert.deepEqual(
    llmRequests.map((r) => r.model),
    ["m1", "m2"],
  );

  const noEndpoint = createUnderstand(t.db, { pool: t.pool });
  const offline = await noEndpoint({
    tenant: { ...tenant, nluSettings: { mode: "hybrid", model: "m1" } },
    message: message({ text: "nothing like any example" }),
    state: undefined,
  });
  assert.equal(offline.intent, "fallback", "no model server configured: offline only");
  assert.equal(llmRequests.length, 2);
});

test("backend contexts replace the NLU's of the same name; expired ones go", () => {
  const state = {
    contexts: [
      { name: "order", lifespanCount: 1 },
      { name: "kept", lifespanCount: 2 },
    ],
    pending: 1,
  };
  const contexts = [
    { name: "kept", lifespanCount: 2 },
    { name: "order", lifespanCount: 3, parameters: { id: 1 } },
  ];
  assert.deepEqual(
    applyContexts(state, [
      { name: "order", lifespanCount: 3, parameters: { id: 1 } },
      { name: "gone", lifespanCount: 0 },
    ]),
    { state: { contexts, pending: 1 }, contexts },
  );
  assert.deepEqual(applyContexts(undefined, [{ name: "a", lifespanCount: 1 }]), {
    state: { contexts: [{ name: "a", lifespanCount: 1 }] },
    contexts: [{ name: "a", lifespanCount: 1 }],
  });
});

test("fulfillment: a Dialogflow WebhookRequest with the endpoint's credentials; the answer as replies, contexts and a follow-up", async () => {
  const sealer = createSealer(parseKeyRing(generateKey("k")));
  const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
  const client = createFulfillmentClient(egress);
  let answer: { status?: number; body: unknown } = { body: {} };
  const backend = await startBackend(() => answer);
  try {
    const fulfill = createFulfill({ sealer, client });
    const understanding: Understanding = {
      intent: "order.status",
      confidence: 0.75,
      parameters: { order_id: "12345" },
      allRequiredParamsPresent: true,
      contexts: [{ name: "order", lifespanCount: 2, parameters: { order_id: "12345" } }],
      state: {},
    };
    const input = (fields: Partial<FulfillmentInput> = {}): FulfillmentInput => ({
      responseId: "m-1-0",
      tenant,
      conversationId: "c0ffee00-0000-4000-8000-000000000001",
      message: message({ text: "where is 12345" }),
      raw: { update_id: 99 },
      intent: {
        id: "i-1",
        name: "order.status",
        action: "order.track",
        parameters: [{ name: "order_id" }, { name: "carrier" }, { name: "items", isList: true }],
      },
      understanding,
      responses: [
        { type: "image", url: "https://img.example/box.png" },
        { type: "text", text: "Checking 12345." },
        { type: "text", text: "One moment." },
      ],
      endpoint: {
        id: "e-1",
        url: backend.url,
        timeoutMs: 2000,
        secrets: sealer.sealJson({ basic: { username: "shop", password: "p4ss" }, headers: { "x-api-key": "k-1" } }),
      },
      ...fields,
    });

    answer = {
      body: {
        fulfillmentText: "Order 12345 has shipped.",
        outputContexts: [
          { name: "projects/p/agent/sessions/s/contexts/order", lifespanCount: 4, parameters: { carrier: "DHL" } },
          { name: "short" },
        ],
        followupEventInput: { name: "order.next", parameters: { step: 2 } },
      },
    };
    const outcome = await fulfill(input());
    assert.ok(outcome.ok);
    assert.equal(outcome.httpStatus, 200);
    assert.ok(outcome.latencyMs >= 0 && outcome.latencyMs < 2000);
    assert.deepEqual(outcome.replies, [{ type: "text", text: "Order 12345 has shipped." }]);
    assert.deepEqual(outcome.contexts, [
      { name: "order", lifespanCount: 4, parameters: { carrier: "DHL" } },
      { name: "short", lifespanCount: 0, parameters: {} },
    ]);
    assert.deepEqual(outcome.followupEvent, { name: "order.next", parameters: { step: 2 } });

    const request = backend.received.at(-1);
    assert.equal(request.session, `projects/${tenant.id}/agent/sessions/c0ffee00-0000-4000-8000-000000000001`);
    assert.deepEqual(request.queryResult, {
      queryText: "where is 12345",
      action: "order.track",
      parameters: { order_id: "12345", carrier: "", items: [] },
      allRequiredParamsPresent: true,
      fulfillmentText: "Checking 12345.",
      fulfillmentMessages: [
        { image: { imageUri: "https://img.example/box.png" } },
        { text: { text: ["Checking 12345."] } },
        { text: { text: ["One moment."] } },
      ],
      diagnosticInfo: {},
      outputContexts: [
        {
          name: `projects/${tenant.id}/agent/sessions/c0ffee00-0000-4000-8000-000000000001/contexts/order`,
          lifespanCount: 2,
          parameters: { order_id: "12345" },
        },
      ],
      intent: { name: `projects/${tenant.id}/agent/intents/i-1`, displayName: "order.status" },
      intentDetectionConfidence: 0.75,
      languageCode: "en",
    });
    assert.equal(request.originalDetectIntentRequest.source, "telegram");
    assert.deepEqual(request.originalDetectIntentRequest.payload, {
      data: { update_id: 99 },
      message: JSON.parse(JSON.stringify(input().message)),
    });
    assert.equal(request.responseId, "m-1-0", "the turn's id for the call, as given");
    const headers = backend.headers.at(-1)!;
    assert.equal(headers.authorization, `Basic ${Buffer.from("shop:p4ss").toString("base64")}`);
    assert.equal(headers["x-api-key"], "k-1");

    // A button press: its payload is the query; no credentials, no contexts, no follow-up.
    answer = { body: { fulfillmentText: "ok", followupEventInput: { name: "bare" } } };
    const pressed = await fulfill(
      input({
        message: message({ postback: { payload: "return it" } }),
        endpoint: { id: "e-2", url: backend.url, timeoutMs: 2000, secrets: null },
      }),
    );
    assert.equal(backend.received.at(-1).queryResult.queryText, "return it");
    assert.equal(backend.headers.at(-1)!.authorization, undefined);
    assert.ok(pressed.ok);
    assert.ok(!("contexts" in pressed));
    assert.deepEqual(pressed.followupEvent, { name: "bare" });
    answer = { body: {} };
    // An event (a scheduled follow-up's): its name, as Dialogflow ES's webhook requests carry it.
    await fulfill(input({ message: message({ event: { name: "FEEDBACK_REQUEST", parameters: { ask: "stars" } } }) }));
    assert.equal(backend.received.at(-1).queryResult.queryText, "FEEDBACK_REQUEST");
    const plain = await fulfill(input({ message: message({}) }));
    assert.equal(backend.received.at(-1).queryResult.queryText, "");
    assert.ok(plain.ok && !("followupEvent" in plain) && !("contexts" in plain));

    answer = { status: 502, body: {} };
    const failed = await fulfill(input({ endpoint: { id: "e-3", url: backend.url, timeoutMs: 2000, secrets: null } }));
    assert.ok(!failed.ok && failed.exchange, "what went over the wire is kept for webhook health");
    const { exchange, ...refused } = failed;
    assert.deepEqual(
      { ...refused, latencyMs: 0 },
      {
        ok: false,
        error: "the endpoint answered HTTP 502",
        errorClass: "http_5xx",
        httpStatus: 502,
        latencyMs: 0,
      },
    );
    assert.equal(JSON.parse(exchange.requestBody).queryResult.queryText, backend.received.at(-1).queryResult.queryText);
    assert.deepEqual([exchange.requestHeaders["content-type"], exchange.responseBody], ["application/json", "{}"]);
    const closed = await startBackend(() => ({ body: {} }));
    await closed.close();
    const unreachable = await fulfill(
      input({ endpoint: { id: "e-4", url: closed.url, timeoutMs: 500, secrets: null } }),
    );
    assert.equal(unreachable.ok, false);
    assert.ok(!("httpStatus" in unreachable));
  } finally {
    client.shutdown();
    await egress.close();
    await backend.close();
  }
});
