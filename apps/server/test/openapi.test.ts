import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createLiveHub, type LiveHub } from "@cb/admin-api";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

const OPERATOR = "operator-token-0123456789";
const sealer = createSealer(parseKeyRing(generateKey("test")));
let t: TestDatabase;
let app: FastifyInstance;
let ingestor: Ingestor;
let live: LiveHub;
let doc: Record<string, any>;
let key: string;
let tenantId: string;

const server = (publicBaseUrl?: string) =>
  buildServer({
    db: t.db,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [], env: {} }),
    ingestor,
    drivers: [],
    admin: { db: t.db, sealer, channelEnv: {}, operatorToken: OPERATOR, publicBaseUrl, live },
  });

before(async () => {
  t = await createTestDatabase();
  ingestor = createIngestor({ connectionString: t.url });
  live = createLiveHub({ connectionString: t.url });
  app = await server("https://bot.example.com/chat/");
  doc = (await app.inject("/openapi.json")).json();
  const created = (
    await app.inject({
      method: "POST",
      url: "/v1/tenants",
      headers: { authorization: `Bearer ${OPERATOR}` },
      payload: { name: "Acme" },
    })
  ).json();
  key = created.apiKey.key;
  tenantId = created.tenant.id;
});
after(async () => {
  await app.close();
  await ingestor.close();
  await live.close();
  await t.drop();
});

const operations = () =>
  Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
  );
const ERROR_REF = { $ref: "#/components/schemas/Error" };

test("the document is valid OpenAPI 3.1 by an independent validator, with servers from PUBLIC_BASE_URL", async () => {
  assert.equal(doc.openapi, "3.1.0");
  await SwaggerParser.validate(structuredClone(doc) as never);
  assert.deepEqual(doc.servers, [{ url: "https://bot.example.com/chat" }]);
  assert.ok(doc.paths["/v1/intents"], "a server URL with a path leaves the operations' paths whole");
  const plain = await server();
  assert.equal((await plain.inject("/openapi.json")).json().servers, undefined, "no PUBLIC_BASE_URL, no servers");
  await plain.close();
});

test("every operation documents its errors with the one shared error schema", () => {
  assert.deepEqual(Object.keys(doc.components.schemas.Error.properties.error.properties), [
    "code",
    "message",
    "details",
  ]);
  const all = operations();
  assert.ok(all.length > 40);
  for (const { path, method, operation } of all) {
    const where = `${method.toUpperCase()} ${path}`;
    const errors = Object.entries(operation.responses as Record<string, any>).filter(([s]) => s.startsWith("4"));
    for (const [, response] of errors) {
      assert.deepEqual(response.content["application/json"].schema, ERROR_REF, where);
      assert.ok(response.description && response.description !== "Default Response", where);
    }
    const statuses = errors.map(([s]) => s);
    for (const always of ["400", "401"]) assert.ok(statuses.includes(always), `${where} ${always}`);
    if (path.includes("{")) assert.ok(statuses.includes("404"), `${where} 404`);
    if (method === "post" || method === "put" || method === "patch")
      for (const status of ["409", "413", "415"]) assert.ok(statuses.includes(status), `${where} ${status}`);
  }
  assert.ok(!doc.paths["/v1/tenants"].post.responses["403"], "the operator-token route has no key scope to refuse");
  assert.ok(doc.paths["/v1/auth/login"].post.responses["429"], "sign-in documents its limit");
  assert.ok(doc.paths["/v1/intents"].get.responses["403"]);
});

test("API keys and operators' session cookie are the document's credentials; signing in needs neither", () => {
  assert.deepEqual(doc.security, [{ apiKey: [] }, { session: [] }]);
  assert.deepEqual(doc.components.securitySchemes.session, {
    type: "apiKey",
    in: "cookie",
    name: "cb_session",
    description: doc.components.securitySchemes.session.description,
  });
  for (const path of ["/v1/auth/login", "/v1/auth/accept-invitation"])
    assert.deepEqual(doc.paths[path].post.security, []);
  for (const path of [
    "/v1/operators",
    "/v1/operators/{id}",
    "/v1/operators/{id}/invitation",
    "/v1/auth/session",
    "/v1/auth/logout",
  ])
    assert.ok(doc.paths[path], path);
});

test("the order-event intake and the agent zip are documented with their bodies", () => {
  const intake = doc.paths["/v1/tenants/{tenantId}/events"]?.post;
  assert.ok(intake, "the intake is in the same document");
  assert.deepEqual(Object.keys(intake.requestBody.content), [
    "application/json",
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
  ]);
  assert.equal(intake.requestBody.content["application/cloudevents-batch+json"].schema.maxItems, 100);
  for (const status of ["202", "401", "403", "404", "413", "429"]) assert.ok(intake.responses[status], status);
  assert.deepEqual(doc.paths["/v1/agent-import"].post.requestBody.content, {
    "application/zip": { schema: { type: "string", format: "binary" } },
  });
});

test("the live stream is documented as server-sent events", () => {
  const stream = doc.paths["/v1/stream"]?.get;
  assert.ok(stream, "GET /v1/stream");
  assert.deepEqual(Object.keys(stream.responses["200"].content), ["text/event-stream"]);
  assert.match(stream.description, /message\.created/);
  const list = doc.paths["/v1/conversations"].get;
  assert.deepEqual(list.parameters.map((p: { name: string }) => p.name).sort(), [
    "assignee",
    "channel",
    "channelAccountId",
    "cursor",
    "externalId",
    "limit",
    "mode",
    "q",
  ]);
});

test("real responses, errors included, match the document's response schemas", async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(doc, "openapi.json");
  const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
  const check = async (
    method: string,
    url: string,
    path: string,
    status: number,
    options: { payload?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const response = await app.inject({
      method: method as "GET",
      url,
      headers: { authorization: `Bearer ${key}`, ...options.headers },
      ...(options.payload !== undefined ? { payload: options.payload as string } : {}),
    });
    assert.equal(response.statusCode, status, `${method} ${url}: ${response.body}`);
    const validate = ajv.getSchema(
      `openapi.json#/${pointer("paths", path, method.toLowerCase(), "responses", String(status), "content", "application/json", "schema")}`,
    );
    assert.ok(validate, `${method} ${path} documents ${status}`);
    assert.ok(validate(response.json()), `${method} ${url} ${status}: ${JSON.stringify(validate.errors)}`);
    return response.json();
  };

  const intent = await check("POST", "/v1/intents", "/v1/intents", 201, {
    payload: { name: "greet", examples: ["hello"], responses: [{ type: "text", text: "Hi" }] },
  });
  const list = await check("GET", "/v1/intents", "/v1/intents", 200);
  assert.deepEqual(
    list.data.map((i: { id: string }) => i.id),
    [intent.id],
  );
  const invalid = await check("POST", "/v1/intents", "/v1/intents", 400, { payload: { name: "" } });
  assert.equal(invalid.error.code, "validation_failed");
  const missing = await check("GET", `/v1/intents/${crypto.randomUUID()}`, "/v1/intents/{id}", 404);
  assert.equal(missing.error.code, "not_found");
  await check("POST", "/v1/intents", "/v1/intents", 409, { payload: { name: "greet", examples: [] } });
  await check("GET", "/v1/intents", "/v1/intents", 401, { headers: { authorization: "Bearer cbk_nope_nope" } });

  const account = await t.db.channelAccount.create({
    data: { tenantId, channel: "telegram", name: "bot", secrets: sealer.sealJson({}) },
  });
  const conversation = await t.db.conversation.create({
    data: { tenantId, channelAccountId: account.id, externalId: "42", mode: "human", assignee: "ada" },
  });
  await t.db.message.create({
    data: {
      tenantId,
      channelAccountId: account.id,
      conversationId: conversation.id,
      direction: "in",
      dedupeKey: "1",
      content: { text: "hello there", sender: { externalId: "42", name: "Ada" } },
      status: "received",
    },
  });
  const conversations = await check("GET", "/v1/conversations?q=hello", "/v1/conversations", 200);
  assert.equal(conversations.data[0].lastMessage.text, "hello there");
  await check("GET", `/v1/conversations/${conversation.id}`, "/v1/conversations/{id}", 200);
  await check("GET", "/v1/conversations?q=hi", "/v1/conversations", 400);

  const invited = await check("POST", "/v1/operators", "/v1/operators", 201, {
    payload: { email: "ada@shop.example", role: "admin" },
  });
  await check("GET", "/v1/operators", "/v1/operators", 200);
  await check("GET", `/v1/operators/${invited.operator.id}`, "/v1/operators/{id}", 200);
  await check("PATCH", `/v1/operators/${invited.operator.id}`, "/v1/operators/{id}", 200, { payload: { name: "Ada" } });
  const reissued = await check(
    "POST",
    `/v1/operators/${invited.operator.id}/invitation`,
    "/v1/operators/{id}/invitation",
    201,
  );
  const password = "correct horse battery staple";
  const signedOut = { authorization: "" };
  await check("POST", "/v1/auth/accept-invitation", "/v1/auth/accept-invitation", 200, {
    payload: { token: reissued.invitation.token, password },
    headers: signedOut,
  });
  const login = { email: "ada@shop.example", password };
  await check("POST", "/v1/auth/login", "/v1/auth/login", 200, { payload: login, headers: signedOut });
  const signedIn = await app.inject({ method: "POST", url: "/v1/auth/login", payload: login });
  const cookie = `cb_session=${signedIn.cookies.find((c) => c.name === "cb_session")?.value}`;
  await check("GET", "/v1/auth/session", "/v1/auth/session", 200, { headers: { ...signedOut, cookie } });
  await check("POST", "/v1/auth/logout", "/v1/auth/logout", 403, { headers: { ...signedOut, cookie } });
  for (let i = 0; i < 5; i++)
    await check("POST", "/v1/auth/login", "/v1/auth/login", 401, {
      payload: { ...login, password: "wrong password" },
      headers: signedOut,
    });
  await check("POST", "/v1/auth/login", "/v1/auth/login", 429, { payload: login, headers: signedOut });

  // Webhook health, with something recorded in every field that can be null.
  const endpoint = await check("POST", "/v1/fulfillment-endpoints", "/v1/fulfillment-endpoints", 201, {
    payload: { name: "shop", url: "https://shop.example.com/hook" },
  });
  const endpointId = endpoint.endpoint.id;
  const chat = await t.db.conversation.create({ data: { tenantId, channelAccountId: account.id, externalId: "1" } });
  const message = await t.db.message.create({
    data: {
      tenantId,
      channelAccountId: account.id,
      conversationId: chat.id,
      direction: "in",
      dedupeKey: "2",
      content: {},
      status: "processed",
    },
  });
  await t.db.fulfillmentCall.createMany({
    data: [
      { tenantId, messageId: message.id, endpointId, intent: "a", ok: true, httpStatus: 200, latencyMs: 12 },
      {
        tenantId,
        messageId: message.id,
        endpointId,
        intent: "a",
        ok: false,
        latencyMs: 30,
        error: "no complete answer within 5000 ms",
        errorClass: "timeout",
        requestBody: "{}",
        requestHeaders: { "content-type": "application/json" },
      },
    ],
  });
  const health = await check(
    "GET",
    `/v1/fulfillment-endpoints/${endpointId}/health?window=1h`,
    "/v1/fulfillment-endpoints/{id}/health",
    200,
  );
  assert.deepEqual(health.errors, { timeout: 1 });
  const calls = await check(
    "GET",
    `/v1/fulfillment-endpoints/${endpointId}/calls`,
    "/v1/fulfillment-endpoints/{id}/calls",
    200,
  );
  assert.equal(calls.data.length, 2);
  const unrecorded = calls.data.find((c: { request: { body: string | null } }) => c.request.body === null);
  await check("POST", `/v1/fulfillment-calls/${unrecorded.id}/replay`, "/v1/fulfillment-calls/{id}/replay", 409);
  const subscription = await check("POST", "/v1/event-subscriptions", "/v1/event-subscriptions", 201, {
    payload: { url: "https://hooks.example.com/e", eventTypes: ["endpoint.degraded", "endpoint.recovered"] },
  });
  const subscriptionId = subscription.subscription.id;
  await check("GET", `/v1/event-subscriptions/${subscriptionId}/health`, "/v1/event-subscriptions/{id}/health", 200);
  await check(
    "GET",
    `/v1/event-subscriptions/${subscriptionId}/attempts`,
    "/v1/event-subscriptions/{id}/attempts",
    200,
  );
  await check("POST", `/v1/event-subscriptions/${subscriptionId}/enable`, "/v1/event-subscriptions/{id}/enable", 200);
  await check("POST", `/v1/event-subscriptions/${subscriptionId}/replay`, "/v1/event-subscriptions/{id}/replay", 202, {
    payload: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" },
  });
  const overview = await check("GET", "/v1/webhook-health", "/v1/webhook-health", 200);
  assert.deepEqual([overview.fulfillmentEndpoints.length, overview.eventSubscriptions.length], [1, 1]);
  await check(
    "GET",
    `/v1/fulfillment-endpoints/${endpointId}/health?window=2d`,
    "/v1/fulfillment-endpoints/{id}/health",
    400,
  );

  await check("POST", "/v1/contacts", "/v1/contacts", 201, {
    payload: { customerId: "c-1", timezone: "Europe/Berlin" },
  });
  const reminder = await check("POST", "/v1/scheduled-messages", "/v1/scheduled-messages", 202, {
    payload: { contact: { customerId: "c-1" }, after: "PT1H", message: { text: "Hi" }, idempotencyKey: "r-1" },
  });
  await check("GET", "/v1/notifications", "/v1/notifications", 200);
  await check("POST", `/v1/notifications/${reminder.id}/cancel`, "/v1/notifications/{id}/cancel", 200);
  await check("POST", `/v1/notifications/${crypto.randomUUID()}/cancel`, "/v1/notifications/{id}/cancel", 404);
  await t.db.notification.update({ where: { id: reminder.id }, data: { status: "sent" } });
  await check("POST", `/v1/notifications/${reminder.id}/cancel`, "/v1/notifications/{id}/cancel", 409);

  const event = JSON.stringify([
    {
      specversion: "1.0",
      id: "o-1",
      source: "/shop",
      type: "order.shipped",
      subject: "A-1",
      data: { orderId: "A-1" },
    },
    { specversion: "1.0", id: "o-2", type: "order.shipped", data: {} },
  ]);
  const events = `/v1/tenants/${tenantId}/events`;
  const batch = await check("POST", events, "/v1/tenants/{tenantId}/events", 202, {
    payload: event,
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
  assert.deepEqual(
    batch.results.map((r: { status: number }) => r.status),
    [202, 400],
  );
  await check("POST", events, "/v1/tenants/{tenantId}/events", 401, {
    payload: event,
    headers: { "content-type": "application/cloudevents-batch+json", authorization: "" },
  });
});
