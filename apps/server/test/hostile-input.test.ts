// Bad input to every admin route the OpenAPI document lists: never a 5xx, always a JSON error,
// nothing stored, and the server still healthy after.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { driver as telegramDriver } from "@cb/channel-telegram";
import type { TestDatabase } from "@cb/db/testing";
import { Webhook } from "standardwebhooks";
import type { FastifyInstance } from "fastify";
import { OPERATOR, rowCounts as countRows, startAdminServer, type AdminServer } from "./support.ts";

let server: AdminServer;
let t: TestDatabase;
let app: FastifyInstance;
let key: string;
// A conversation the handoff routes' valid bodies act on: taken over, then answered by an agent.
const conversationId = crypto.randomUUID();

before(async () => {
  server = await startAdminServer({ drivers: [telegramDriver], admin: { publicBaseUrl: "https://bot.example.com" } });
  ({ t, app } = server);
  const created = await server.tenant("Acme");
  key = created.key;
  const account = await t.db.channelAccount.create({
    data: { tenantId: created.tenantId, channel: "telegram", name: "bot", secrets: server.sealer.sealJson({}) },
  });
  await t.db.conversation.create({
    data: {
      id: conversationId,
      tenantId: created.tenantId,
      channelAccountId: account.id,
      externalId: "1",
      lastInboundAt: new Date(),
    },
  });
});
after(() => server.close());

const rowCounts = () => countRows(t.pool);

const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

/** Bodies no write route may take. Each is sent as it is written here, as application/json. */
const BAD_BODIES: Record<string, string> = {
  "NUL in a string": '{"name":"a\\u0000b","text":"a\\u0000b"}',
  "NUL in a key": '{"na\\u0000me":"x"}',
  "lone surrogate": '{"name":"\\ud800x","text":"\\udfff"}',
  "10,000 levels deep": `{"name":"x","config":${deep(10_000)}}`,
  "65 levels deep": `{"name":"x","config":${deep(65)}}`,
  "null body": "null",
  "array body": "[1,2]",
  "string body": '"text"',
  "number past double range": "1e309",
  "not JSON": '{"name":',
  "a field no route has": '{"name":"x","colour_typo":"red"}',
  "wrong types": '{"name":123,"enabled":"yes","examples":"one"}',
  "a tenant id in a contact identity": `{"identities":[{"channelAccountId":"${crypto.randomUUID()}","externalId":"1","tenantId":"${crypto.randomUUID()}"}]}`,
};

/** Query strings no list route may take. */
const BAD_QUERIES = [
  "limit=1e309",
  "limit=-1",
  "limit=1.5",
  "limit=%00",
  `cursor=${Buffer.from(JSON.stringify(["not a date", crypto.randomUUID()])).toString("base64url")}`,
  `cursor=${Buffer.from(JSON.stringify(["-271821-04-20T00:00:00.000Z", crypto.randomUUID()])).toString("base64url")}`,
  `cursor=${Buffer.from(JSON.stringify([new Date().toISOString(), "not an id!"])).toString("base64url")}`,
  `cursor=${Buffer.from(JSON.stringify([new Date().toISOString(), "a\u0000b"])).toString("base64url")}`,
  `cursor=${Buffer.from("{").toString("base64url")}`,
  "cursor=%00",
  "cursor=%ED%A0%80",
  "unknown_parameter=1",
];

/** Path parameters no id route may take. */
const BAD_IDS = ["not-a-uuid", "%00", "00000000-0000-0000-0000-00000000000%00", "%ED%A0%80", "a".repeat(300)];

async function operations(): Promise<{ method: string; path: string; hasBody: boolean }[]> {
  const doc = (await app.inject("/openapi.json")).json() as {
    paths: Record<string, Record<string, { requestBody?: unknown }>>;
  };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, hasBody: !!op.requestBody })),
  );
}

const fill = (path: string, id: string) => path.replaceAll(/\{[^}]+\}/g, id);

function assertRefused(response: { statusCode: number; body: string }, what: string) {
  assert.ok(
    response.statusCode >= 400 && response.statusCode < 500,
    `${what}: ${response.statusCode} ${response.body}`,
  );
  const body = JSON.parse(response.body) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(typeof body.error?.code, "string", `${what}: a JSON error with a code`);
  assert.equal(typeof body.error?.message, "string", `${what}: a JSON error with a message`);
}

test("every write route refuses bad bodies with a 4xx JSON error and stores nothing", async () => {
  const writes = (await operations()).filter((op) => op.hasBody && op.method !== "GET");
  assert.ok(writes.length >= 15, `the document lists the write routes (${writes.length})`);
  const before = await rowCounts();
  for (const op of writes) {
    const url = fill(op.path, crypto.randomUUID());
    for (const [name, payload] of Object.entries(BAD_BODIES)) {
      const response = await app.inject({
        method: op.method as "POST",
        url,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        payload,
      });
      assertRefused(response, `${op.method} ${op.path} with ${name}`);
    }
  }
  assert.deepEqual(await rowCounts(), before, "nothing stored");
});

/**
 * A valid body for each write route, with one string marked `@@`: sent clean it is taken, and with a
 * NUL or a lone surrogate in the marked place it is refused, so the refusal is the text's doing.
 */
const VALID_BODIES: { method: "POST" | "PATCH"; url: string; body: unknown; operator?: boolean }[] = [
  { method: "POST", url: "/v1/tenants", body: { name: "Shop @@" }, operator: true },
  { method: "PATCH", url: "/v1/tenant", body: { name: "Acme @@" } },
  { method: "POST", url: "/v1/api-keys", body: { name: "ci @@", scopes: ["read-only"] } },
  {
    method: "POST",
    url: "/v1/channel-accounts",
    body: { channel: "slack", name: "Team @@", credentials: { botToken: "xoxb-1", signingSecret: "s" } },
  },
  { method: "POST", url: "/v1/intents", body: { name: "greet @@", examples: ["hello there"] } },
  { method: "POST", url: "/v1/entity-types", body: { name: "size", kind: "list", entries: [{ value: "big @@" }] } },
  { method: "POST", url: "/v1/fulfillment-endpoints", body: { name: "orders @@", url: "https://orders.example.com/" } },
  { method: "POST", url: "/v1/contacts", body: { customerId: "c-@@", name: "Ada" } },
  {
    method: "POST",
    url: "/v1/notification-rules",
    body: {
      name: "shipped",
      eventType: "order.shipped",
      template: { text: "Shipped @@" },
      contactMatch: { by: "customerId", path: "$.data.customerId" },
      channelOrder: ["telegram"],
    },
  },
  // The contact the /v1/contacts entry above stored clean ("c-ok").
  {
    method: "POST",
    url: "/v1/scheduled-messages",
    body: { contact: { customerId: "c-ok" }, after: "PT1H", message: { text: "Table at 8 @@" }, idempotencyKey: "r-1" },
  },
  { method: "POST", url: "/v1/event-subscriptions", body: { url: "https://hooks.example.com/@@", eventTypes: ["*"] } },
  // In this order: the take-over puts the conversation with an agent, whose reply is then taken.
  { method: "POST", url: `/v1/conversations/${conversationId}/handoff`, body: { assignee: "ada@@@shop.example" } },
  {
    method: "POST",
    url: `/v1/conversations/${conversationId}/messages`,
    body: { reply: { type: "text", text: "Hello @@" }, idempotencyKey: "reply-1" },
  },
];

test("a valid body with a NUL or a lone surrogate in one string is refused on every write route; clean, it is taken", async () => {
  for (const { method, url, body, operator } of VALID_BODIES) {
    const send = (text: string) =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${operator ? OPERATOR : key}`, "content-type": "application/json" },
        payload: JSON.stringify(body).replace("@@", text),
      });
    const before = await rowCounts();
    for (const bad of ["a\\u0000b", "a\\ud800b"]) {
      const response = await send(bad);
      assert.equal(response.statusCode, 400, `${method} ${url} with ${bad}: ${response.body}`);
      assert.equal(response.json().error.code, "invalid_text");
    }
    assert.deepEqual(await rowCounts(), before, `${method} ${url}: nothing stored`);
    const clean = await send("ok");
    assert.ok(clean.statusCode < 300, `${method} ${url} clean: ${clean.statusCode} ${clean.body}`);
  }
});

test("text PostgreSQL cannot store is named in the refusal", async () => {
  const response = await app.inject({
    method: "POST",
    url: "/v1/intents",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    payload: '{"name":"greeting","examples":["hi","h\\u0000i"]}',
  });
  assert.equal(response.statusCode, 400);
  assert.deepEqual(response.json().error.details, { location: "body", path: "/examples/1", problem: "nul" });
  const long = await app.inject({
    method: "POST",
    url: "/v1/contacts",
    headers: { authorization: `Bearer ${key}` },
    payload: { customerId: "c-1", name: "x".repeat(10_001) },
  });
  assert.equal(long.statusCode, 400, "a string without a bound of its own gets one");
  const typo = await app.inject({
    method: "POST",
    url: "/v1/intents",
    headers: { authorization: `Bearer ${key}` },
    payload: { name: "greeting", examples: ["hi"], respones: [] },
  });
  assert.equal(typo.statusCode, 400);
  assert.match(typo.json().error.message, /"respones"/, "the unknown field is named");
});

test("every list route refuses bad query strings, and every id route bad ids, with a 4xx JSON error", async () => {
  const ops = await operations();
  const lists = ops.filter((op) => op.method === "GET" && !op.path.includes("{"));
  const byId = ops.filter((op) => op.path.includes("{"));
  assert.ok(lists.length >= 8 && byId.length >= 15, "the document lists the routes");
  for (const op of lists)
    for (const query of BAD_QUERIES) {
      if (op.path === "/v1/tenant" && !query.startsWith("unknown")) continue; // takes no paging
      const response = await app.inject({
        method: "GET",
        url: `${op.path}?${query}`,
        headers: { authorization: `Bearer ${key}` },
      });
      assertRefused(response, `GET ${op.path}?${query}`);
    }
  for (const op of byId)
    for (const id of BAD_IDS) {
      const response = await app.inject({
        method: op.method as "GET",
        url: fill(op.path, id),
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        ...(op.method === "GET" || op.method === "DELETE" ? {} : { payload: "{}" }),
      });
      assertRefused(response, `${op.method} ${op.path} with id ${id.slice(0, 40)}`);
    }
  const health = await app.inject("/healthz");
  assert.equal(health.statusCode, 200, "still healthy");
});

test("order-event intake: signed or CloudEvent bodies no order system should send get a 4xx and store nothing", async () => {
  const secret = (
    await app.inject({ method: "POST", url: "/v1/events-secret", headers: { authorization: `Bearer ${key}` } })
  ).json().secret as string;
  const tenantId = (await app.inject({ url: "/v1/tenant", headers: { authorization: `Bearer ${key}` } })).json().id;
  const url = `/v1/tenants/${tenantId}/events`;
  let n = 0;
  const signed = (payload: string) => {
    const id = `evt-${++n}`;
    const at = new Date();
    return app.inject({
      method: "POST",
      url,
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": new Webhook(secret).sign(id, at, payload),
      },
      payload,
    });
  };
  const cloudEvent = (payload: string) =>
    app.inject({
      method: "POST",
      url,
      headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${key}` },
      payload,
    });
  const event = (fields: string) => `{"type":"order.shipped","data":{"orderId":"O-1"}${fields}}`;
  const before = await rowCounts();
  for (const payload of [
    "null",
    "",
    "[]",
    event(',"sequence":"1e3"'),
    event(',"sequence":"1.0"'),
    event(',"sequence":1.5'),
    event(',"timestamp":8.64e15'),
    event(',"timestamp":-8.64e15'),
    event(',"timestamp":"+275760-09-13T00:00:00.000Z"'),
    '{"type":"order.shipped","data":{"orderId":"O-\\u0000"}}',
    '{"type":"order.\\ud800","data":{"orderId":"O-1"}}',
    '{"type":"order.shipped","data":"O-1"}',
    '{"type":"order.shipped","data":{"orderId":{"nested":true}}}',
  ]) {
    const response = await signed(payload);
    assertRefused(response, `signed ${payload.slice(0, 60)}`);
  }
  for (const payload of [
    '{"specversion":"1.0","id":"ce-1","source":"/orders","type":"order.shipped","datacontenttype":"application/json","data":"not json {"}',
    '{"specversion":"1.0","id":"ce-\\u0000","source":"/orders","type":"order.shipped","data":{"orderId":"O-1"}}',
    '{"specversion":"1.0","id":"ce-\\udc00","source":"/orders","type":"order.shipped","data":{"orderId":"O-1"}}',
    '{"specversion":"1.0","id":"ce-2","source":"/orders","type":"order.shipped","sequence":"1e3","data":{"orderId":"O-1"}}',
  ]) {
    const response = await cloudEvent(payload);
    assertRefused(response, `CloudEvent ${payload.slice(0, 90)}`);
  }
  assert.deepEqual(await rowCounts(), before, "nothing stored");
  const good = await signed(event(',"sequence":"12","timestamp":"2026-11-30T10:00:00Z"'));
  assert.equal(good.statusCode, 202, `a real event is still taken: ${good.body}`);
});
