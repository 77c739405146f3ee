import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestDatabase } from "@cb/db/testing";
import { createEgress, parsePolicy } from "@cb/egress";
import { createFulfillmentClient, type EndpointAuth, type WebhookRequest } from "@cb/fulfillment";
import type { FastifyInstance } from "fastify";
import { startAdminServer, type AdminServer } from "./support.ts";

// Webhook health through the admin API: figures computed by PostgreSQL over recorded attempts,
// recent attempts with what was sent and received, replay, re-enabling, tenant isolation and
// hostile input. A strict fake backend on loopback stands in for the business's endpoint.
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
let server: AdminServer;
let t: TestDatabase;
let app: FastifyInstance;
let backend: Server;
let backendUrl: string;
let keyA: string;
let keyB: string;
let tenantA: string;
let messageId: string;

type Received = { headers: Record<string, string | string[] | undefined>; body: string };
const received: Received[] = [];
/** Requests the backend refused as not what a fulfillment call looks like; must stay empty. */
const violations: string[] = [];
let answer: () => { status: number; body: string } = () => ({ status: 200, body: "{}" });

before(async () => {
  backend = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/hook" || req.headers["content-type"] !== "application/json") {
        violations.push(`${req.method} ${req.url} ${req.headers["content-type"]}`);
        return res.writeHead(400).end();
      }
      received.push({ headers: req.headers, body });
      const { status, body: out } = answer();
      res.writeHead(status, { "content-type": "application/json" }).end(out);
    });
  });
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/hook`;
  server = await startAdminServer({ admin: { egress } });
  ({ t, app } = server);
  ({ tenantId: tenantA, key: keyA } = await server.tenant("Acme"));
  keyB = (await server.tenant("Other")).key;
  const account = await t.db.channelAccount.create({
    data: { tenantId: tenantA, channel: "telegram", name: "bot", secrets: server.sealer.sealJson({}) },
  });
  const conversation = await t.db.conversation.create({
    data: { tenantId: tenantA, channelAccountId: account.id, externalId: "42" },
  });
  messageId = (
    await t.db.message.create({
      data: {
        tenantId: tenantA,
        channelAccountId: account.id,
        conversationId: conversation.id,
        direction: "in",
        dedupeKey: "u1",
        content: { type: "text", text: "where is my order" },
        status: "processed",
      },
    })
  ).id;
});
after(async () => {
  await server.close();
  await egress.close();
  backend.closeAllConnections();
  await new Promise((resolve) => backend.close(resolve));
});

const call = async (method: string, url: string, payload?: unknown, key = keyA) => {
  const response = await app.inject({
    method: method as "GET",
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: response.statusCode, body: response.body ? response.json() : undefined };
};
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

async function newEndpoint(name: string, fields: Record<string, unknown> = {}) {
  const created = await call("POST", "/v1/fulfillment-endpoints", { name, url: backendUrl, ...fields });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.endpoint.id as string;
}
async function newSubscription(url = "https://hooks.example.com/events") {
  const created = await call("POST", "/v1/event-subscriptions", { url, eventTypes: ["message.sent"] });
  assert.equal(created.status, 201);
  return created.body.subscription.id as string;
}
async function storedCalls(
  endpointId: string,
  rows: { ok: boolean; latencyMs: number; at: Date; errorClass?: string }[],
) {
  await t.db.fulfillmentCall.createMany({
    data: rows.map((r) => ({
      tenantId: tenantA,
      messageId,
      endpointId,
      intent: "order.status",
      ok: r.ok,
      latencyMs: r.latencyMs,
      createdAt: r.at,
      errorClass: r.errorClass ?? null,
      error: r.ok ? null : "failed",
    })),
  });
}
async function storedAttempts(subscriptionId: string, rows: { ok: boolean; latencyMs: number; at: Date }[]) {
  const event = await t.db.event.create({
    data: { id: `evt_${crypto.randomUUID()}`, tenantId: tenantA, type: "message.sent", data: { n: 1 } },
  });
  const delivery = await t.db.eventDelivery.create({
    data: { tenantId: tenantA, eventId: event.id, subscriptionId, status: rows.at(-1)?.ok ? "succeeded" : "dead" },
  });
  await t.db.deliveryAttempt.createMany({
    data: rows.map((r) => ({
      deliveryId: delivery.id,
      subscriptionId,
      at: r.at,
      latencyMs: r.latencyMs,
      httpStatus: r.ok ? 200 : 503,
      error: r.ok ? null : "HTTP 503",
      errorClass: r.ok ? null : "http_5xx",
      requestBody: JSON.stringify({ id: event.id, data: { n: 1 }, token: "xoxb-secret" }),
      requestHeaders: { "webhook-id": event.id, "webhook-signature": "[redacted]" },
      responseExcerpt: r.ok ? "ok" : "down",
    })),
  });
  return delivery;
}

/** A real call through the fulfillment client, recorded as the worker records it. */
async function realCall(endpointId: string, request: WebhookRequest) {
  const row = await t.db.fulfillmentEndpoint.findUniqueOrThrow({ where: { id: endpointId } });
  const client = createFulfillmentClient(egress);
  const result = await client.call(
    { id: row.id, url: row.url, timeoutMs: 2000, auth: server.sealer.openJson<EndpointAuth>(row.secrets!) },
    request,
  );
  client.shutdown();
  return t.db.fulfillmentCall.create({
    data: {
      tenantId: tenantA,
      messageId,
      endpointId,
      intent: "order.status",
      ok: result.ok,
      httpStatus: result.httpStatus ?? null,
      latencyMs: Math.round(result.latencyMs),
      error: result.ok ? null : result.error,
      errorClass: result.ok ? null : result.errorClass,
      requestBody: result.exchange.requestBody,
      requestHeaders: result.exchange.requestHeaders,
      responseBody: result.exchange.responseBody ?? null,
    },
  });
}
const webhookRequest = (n: number): WebhookRequest =>
  ({
    responseId: `r-${n}`,
    session: "projects/p/agent/sessions/s",
    queryResult: { queryText: "where is my order", parameters: {}, intent: { displayName: "order.status" } },
    originalDetectIntentRequest: { source: "telegram", payload: { data: { token: "platform-secret" } } },
  }) as unknown as WebhookRequest;

test("an endpoint's health: totals, success rate, p50/p95 latency, error classes and chart buckets, per window", async () => {
  const id = await newEndpoint("health");
  // Ten calls 10 minutes ago with latencies 10..100 ms; three failed.
  await storedCalls(id, [
    ...[10, 20, 30, 40, 50, 60, 70].map((latencyMs) => ({ ok: true, latencyMs, at: minutesAgo(10) })),
    { ok: false, latencyMs: 80, at: minutesAgo(10), errorClass: "timeout" },
    { ok: false, latencyMs: 90, at: minutesAgo(10), errorClass: "http_5xx" },
    { ok: false, latencyMs: 100, at: minutesAgo(10), errorClass: "http_5xx" },
  ]);
  // Two days ago: in 7d only.
  await storedCalls(id, [{ ok: false, latencyMs: 5000, at: minutesAgo(2 * 24 * 60), errorClass: "connection" }]);

  const hour = await call("GET", `/v1/fulfillment-endpoints/${id}/health?window=1h`);
  assert.equal(hour.status, 200);
  const { buckets, from, to, ...figures } = hour.body;
  assert.deepEqual(figures, {
    window: "1h",
    total: 10,
    succeeded: 7,
    failed: 3,
    successRate: 0.7,
    // percentile_cont: interpolated between the sorted latencies.
    latencyMs: { p50: 55, p95: 95 },
    errors: { timeout: 1, http_5xx: 2 },
    status: "healthy",
    degradedSince: null,
  });
  assert.equal(Date.parse(to) - Date.parse(from), 3600_000);
  assert.equal(buckets.length, 12);
  // 10 minutes ago is in the tenth 5-minute bucket (index 9) of the last hour.
  const filled = buckets.filter((b: { total: number }) => b.total > 0);
  assert.deepEqual(filled, [{ start: buckets[9].start, total: 10, failed: 3, p50: 55, p95: 95 }]);
  assert.equal(Date.parse(buckets[1].start) - Date.parse(buckets[0].start), 5 * 60_000);
  assert.equal(buckets[0].p50, null, "no attempts, no latency");

  const day = (await call("GET", `/v1/fulfillment-endpoints/${id}/health`)).body;
  assert.deepEqual([day.window, day.total, day.buckets.length], ["24h", 10, 24], "24h by default");
  const week = (await call("GET", `/v1/fulfillment-endpoints/${id}/health?window=7d`)).body;
  assert.deepEqual([week.total, week.failed, week.errors.connection, week.buckets.length], [11, 4, 1, 14]);

  await t.db.fulfillmentEndpoint.update({ where: { id }, data: { degradedSince: minutesAgo(1) } });
  const degraded = (await call("GET", `/v1/fulfillment-endpoints/${id}/health?window=1h`)).body;
  assert.equal(degraded.status, "degraded");
  assert.ok(degraded.degradedSince);

  const empty = (await call("GET", `/v1/fulfillment-endpoints/${await newEndpoint("quiet")}/health`)).body;
  assert.deepEqual(
    [empty.total, empty.successRate, empty.latencyMs, empty.errors],
    [0, null, { p50: null, p95: null }, {}],
  );
});

test("a subscription's health counts its delivery attempts; disabled wins over degraded; the overview lists everything", async () => {
  const id = await newSubscription();
  await storedAttempts(id, [
    { ok: false, latencyMs: 100, at: minutesAgo(30) },
    { ok: true, latencyMs: 300, at: minutesAgo(20) },
  ]);
  const health = (await call("GET", `/v1/event-subscriptions/${id}/health?window=1h`)).body;
  assert.deepEqual(
    [health.total, health.failed, health.successRate, health.latencyMs, health.errors, health.status],
    [2, 1, 0.5, { p50: 200, p95: 290 }, { http_5xx: 1 }, "healthy"],
  );
  await t.db.eventSubscription.update({
    where: { id },
    data: { enabled: false, disabledReason: "gone", degradedSince: new Date() },
  });
  assert.equal((await call("GET", `/v1/event-subscriptions/${id}/health`)).body.status, "disabled");

  const overview = await call("GET", "/v1/webhook-health");
  assert.equal(overview.status, 200);
  const sub = overview.body.eventSubscriptions.find((s: { id: string }) => s.id === id);
  assert.deepEqual(
    [sub.status, sub.enabled, sub.disabledReason, sub.total, sub.successRate],
    ["disabled", false, "gone", 2, 0.5],
  );
  const endpoint = overview.body.fulfillmentEndpoints.find((e: { name: string }) => e.name === "health");
  assert.deepEqual([endpoint.total, endpoint.failed, endpoint.status], [10, 3, "degraded"], "the last 24 h only");
  assert.equal((await call("GET", "/v1/webhook-health", undefined, keyB)).body.fulfillmentEndpoints.length, 0);
});

test("an endpoint's calls: request and response with credentials redacted, error class, filters and pages", async () => {
  const id = await newEndpoint("calls", {
    basicAuth: { username: "shop", password: "basic-secret" },
    headers: { "X-Api-Key": "header-secret" },
  });
  answer = () => ({ status: 200, body: JSON.stringify({ fulfillmentText: "Shipped", api_key: "echoed-secret" }) });
  const ok = await realCall(id, webhookRequest(1));
  answer = () => ({ status: 502, body: '{"error":"bad gateway"}' });
  const failed = await realCall(id, webhookRequest(2));
  assert.equal(received.length, 2);
  assert.ok(String(received[0]!.headers.authorization).startsWith("Basic "), "the backend got the credentials");

  const page = await call("GET", `/v1/fulfillment-endpoints/${id}/calls`);
  assert.equal(page.status, 200);
  assert.deepEqual(
    page.body.data.map((c: { id: string }) => c.id),
    [failed.id, ok.id],
    "newest first",
  );
  const [f, o] = page.body.data;
  assert.deepEqual(
    [f.ok, f.httpStatus, f.errorClass, f.response.body],
    [false, 502, "http_5xx", '{"error":"bad gateway"}'],
  );
  assert.deepEqual([o.ok, o.errorClass, o.replayOf], [true, null, null]);
  const text = JSON.stringify(page.body);
  for (const secret of [
    "basic-secret",
    "header-secret",
    "platform-secret",
    "echoed-secret",
    received[0]!.headers["webhook-signature"],
  ])
    assert.ok(!text.includes(String(secret)), `${secret} is not shown`);
  assert.equal(o.request.headers.authorization, "[redacted]");
  assert.equal(o.request.headers["X-Api-Key"], "[redacted]");
  assert.equal(o.request.headers["webhook-signature"], "[redacted]");
  assert.equal(o.request.headers["webhook-id"], "msg_r-1", "what is not a credential stays");
  assert.equal(JSON.parse(o.request.body).originalDetectIntentRequest.payload.data.token, "[redacted]");
  assert.equal(JSON.parse(o.response.body).fulfillmentText, "Shipped");

  const onlyFailed = (await call("GET", `/v1/fulfillment-endpoints/${id}/calls?outcome=failed`)).body.data;
  assert.deepEqual(
    onlyFailed.map((c: { id: string }) => c.id),
    [failed.id],
  );
  const onlyOk = (await call("GET", `/v1/fulfillment-endpoints/${id}/calls?outcome=succeeded`)).body.data;
  assert.deepEqual(
    onlyOk.map((c: { id: string }) => c.id),
    [ok.id],
  );
  const first = (await call("GET", `/v1/fulfillment-endpoints/${id}/calls?limit=1`)).body;
  assert.deepEqual([first.data[0].id, typeof first.nextCursor], [failed.id, "string"]);
  const second = (await call("GET", `/v1/fulfillment-endpoints/${id}/calls?limit=1&cursor=${first.nextCursor}`)).body;
  assert.deepEqual([second.data[0].id, second.nextCursor], [ok.id, null]);
  const between = (from: Date, to: Date) =>
    call("GET", `/v1/fulfillment-endpoints/${id}/calls?from=${from.toISOString()}&to=${to.toISOString()}`);
  assert.deepEqual((await between(ok.createdAt, ok.createdAt)).body.data.length, 1, "from and to are inclusive");
  assert.deepEqual((await between(minutesAgo(60), minutesAgo(30))).body.data, []);
});

test("replaying a call posts the recorded request to the endpoint now and records the new call; no customer is messaged", async () => {
  const id = await newEndpoint("replay", { headers: { "X-Api-Key": "replay-secret" } });
  answer = () => ({ status: 500, body: "{}" });
  const original = await realCall(id, webhookRequest(7));
  const messagesBefore = await t.db.message.count();
  const jobsBefore = (await t.pool.query("SELECT count(*)::int AS n FROM graphile_worker.jobs")).rows[0].n;

  answer = () => ({ status: 200, body: JSON.stringify({ fulfillmentText: "fixed" }) });
  const before = received.length;
  const replay = await call("POST", `/v1/fulfillment-calls/${original.id}/replay`);
  assert.equal(replay.status, 200, JSON.stringify(replay.body));
  assert.deepEqual(
    [replay.body.ok, replay.body.httpStatus, replay.body.replayOf, replay.body.errorClass],
    [true, 200, original.id, null],
  );
  assert.equal(received.length, before + 1, "posted once");
  const sent = received.at(-1)!;
  assert.equal(sent.body, original.requestBody, "the recorded request, as it was");
  assert.equal(sent.headers["x-api-key"], "replay-secret", "with the endpoint's credentials");
  assert.equal(sent.headers["webhook-id"], "msg_r-7", "the same webhook-id");
  assert.notEqual(replay.body.id, original.id);
  const stored = await t.db.fulfillmentCall.findUniqueOrThrow({ where: { id: replay.body.id } });
  assert.deepEqual([stored.messageId, stored.endpointId, stored.ok], [original.messageId, id, true]);

  // A replay of the replay is marked as a replay of the first.
  answer = () => ({ status: 404, body: "{}" });
  const again = await call("POST", `/v1/fulfillment-calls/${replay.body.id}/replay`);
  assert.deepEqual([again.body.ok, again.body.errorClass, again.body.replayOf], [false, "http_4xx", original.id]);

  assert.equal(await t.db.message.count(), messagesBefore, "no message to the customer");
  assert.equal(
    (await t.pool.query("SELECT count(*)::int AS n FROM graphile_worker.jobs")).rows[0].n,
    jobsBefore,
    "no job queued",
  );

  const old = await t.db.fulfillmentCall.create({
    data: { tenantId: tenantA, messageId, endpointId: id, intent: "x", ok: false, latencyMs: 1 },
  });
  const refused = await call("POST", `/v1/fulfillment-calls/${old.id}/replay`);
  assert.deepEqual([refused.status, refused.body.error.code], [409, "not_recorded"]);
  const cut = await t.db.fulfillmentCall.create({
    data: { tenantId: tenantA, messageId, endpointId: id, intent: "x", ok: false, latencyMs: 1, requestBody: '{"cut' },
  });
  assert.equal((await call("POST", `/v1/fulfillment-calls/${cut.id}/replay`)).body.error.code, "request_truncated");
  assert.deepEqual(violations, []);
});

test("a subscription's attempts show request, response and status; a delivery's attempts too", async () => {
  const id = await newSubscription();
  const delivery = await storedAttempts(id, [
    { ok: false, latencyMs: 10, at: minutesAgo(3) },
    { ok: true, latencyMs: 20, at: minutesAgo(2) },
  ]);
  const list = await call("GET", `/v1/event-subscriptions/${id}/attempts`);
  assert.equal(list.status, 200);
  const [latest, earlier] = list.body.data;
  assert.deepEqual(
    [latest.httpStatus, latest.errorClass, latest.deliveryStatus, latest.response.body, latest.eventType],
    [200, null, "succeeded", "ok", "message.sent"],
  );
  assert.deepEqual(
    [earlier.httpStatus, earlier.errorClass, earlier.error, earlier.response.body],
    [503, "http_5xx", "HTTP 503", "down"],
  );
  assert.equal(JSON.parse(latest.request.body).token, "[redacted]");
  assert.equal(latest.request.headers["webhook-signature"], "[redacted]");
  const failedOnly = (await call("GET", `/v1/event-subscriptions/${id}/attempts?outcome=failed`)).body.data;
  assert.deepEqual(
    failedOnly.map((a: { id: string }) => a.id),
    [earlier.id],
  );
  const first = (await call("GET", `/v1/event-subscriptions/${id}/attempts?limit=1`)).body;
  const next = (await call("GET", `/v1/event-subscriptions/${id}/attempts?limit=1&cursor=${first.nextCursor}`)).body;
  assert.deepEqual([first.data[0].id, next.data[0].id, next.nextCursor], [latest.id, earlier.id, null]);
  const to = minutesAgo(2.5).toISOString();
  assert.deepEqual(
    (await call("GET", `/v1/event-subscriptions/${id}/attempts?to=${to}`)).body.data.map((a: { id: string }) => a.id),
    [earlier.id],
  );

  const detail = (await call("GET", `/v1/deliveries/${delivery.id}`)).body;
  assert.deepEqual(
    detail.attempts.map((a: { errorClass: string | null; response: { body: string } }) => [
      a.errorClass,
      a.response.body,
    ]),
    [
      ["http_5xx", "down"],
      [null, "ok"],
    ],
  );
  assert.equal(JSON.parse(detail.attempts[0].request.body).token, "[redacted]");
});

test("replaying a subscription's failures in a range, twice, queues them once; enabling clears the failure state", async () => {
  const id = await newSubscription();
  const dead = await storedAttempts(id, [{ ok: false, latencyMs: 1, at: new Date() }]);
  const range = { from: minutesAgo(5).toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
  assert.deepEqual(await call("POST", `/v1/event-subscriptions/${id}/replay`, range), {
    status: 202,
    body: { replayed: 1 },
  });
  assert.deepEqual((await call("POST", `/v1/event-subscriptions/${id}/replay`, range)).body, { replayed: 0 });
  assert.equal((await t.db.eventDelivery.findUniqueOrThrow({ where: { id: dead.id } })).status, "pending");
  assert.deepEqual((await call("POST", `/v1/deliveries/${dead.id}/replay`)).body, { replayed: 0 }, "already pending");
  const outside = { from: minutesAgo(60).toISOString(), to: minutesAgo(30).toISOString() };
  await t.db.eventDelivery.update({ where: { id: dead.id }, data: { status: "dead" } });
  assert.deepEqual((await call("POST", `/v1/event-subscriptions/${id}/replay`, outside)).body, { replayed: 0 });
  assert.deepEqual(
    (await call("POST", `/v1/event-subscriptions/${id}/replay`, { since: range.from })).body,
    { replayed: 1 },
    "since, the older name of from",
  );

  await t.db.eventSubscription.update({
    where: { id },
    data: { enabled: false, disabledReason: "the endpoint answered 410 Gone", failingSince: minutesAgo(60) },
  });
  const enabled = await call("POST", `/v1/event-subscriptions/${id}/enable`);
  assert.equal(enabled.status, 200);
  assert.deepEqual([enabled.body.enabled, enabled.body.disabledReason, enabled.body.failingSince], [true, null, null]);
  const stored = await t.db.eventSubscription.findUniqueOrThrow({ where: { id } });
  assert.deepEqual([stored.enabled, stored.disabledReason, stored.failingSince], [true, null, null]);
});

test("the tenant's health thresholds are set with PATCH /v1/tenant, and checked", async () => {
  const set = await call("PATCH", "/v1/tenant", { healthSettings: { failureRate: 0.25, minAttempts: 20 } });
  assert.equal(set.status, 200);
  assert.deepEqual(set.body.healthSettings, { failureRate: 0.25, minAttempts: 20 });
  assert.deepEqual((await t.db.tenant.findUniqueOrThrow({ where: { id: tenantA } })).healthSettings, {
    failureRate: 0.25,
    minAttempts: 20,
  });
  for (const healthSettings of [
    { failureRate: 0 },
    { failureRate: 1.5 },
    { failureRate: "half" },
    { minAttempts: 0 },
    { minAttempts: 2.5 },
    { window: "1h" },
  ]) {
    const refused = await call("PATCH", "/v1/tenant", { healthSettings });
    assert.deepEqual(
      [refused.status, refused.body.error.code],
      [400, "validation_failed"],
      JSON.stringify(healthSettings),
    );
  }
});

test("another tenant's endpoints, subscriptions and calls are not found", async () => {
  const endpoint = await newEndpoint("private");
  const subscription = await newSubscription();
  answer = () => ({ status: 200, body: "{}" });
  const recorded = await realCall(endpoint, webhookRequest(9));
  const before = received.length;
  for (const [method, url, payload] of [
    ["GET", `/v1/fulfillment-endpoints/${endpoint}/health`],
    ["GET", `/v1/fulfillment-endpoints/${endpoint}/calls`],
    ["GET", `/v1/event-subscriptions/${subscription}/health`],
    ["GET", `/v1/event-subscriptions/${subscription}/attempts`],
    ["POST", `/v1/event-subscriptions/${subscription}/replay`, { from: minutesAgo(5).toISOString() }],
    ["POST", `/v1/event-subscriptions/${subscription}/enable`],
    ["POST", `/v1/fulfillment-calls/${recorded.id}/replay`],
  ] as const) {
    const response = await call(method, url, payload, keyB);
    assert.deepEqual([response.status, response.body.error.code], [404, "not_found"], `${method} ${url}`);
  }
  assert.equal(received.length, before, "nothing was posted for the other tenant");
});

test("hostile query strings and bodies are refused with 400, never a 5xx", async () => {
  const endpoint = await newEndpoint("hostile");
  const subscription = await newSubscription();
  const e = `/v1/fulfillment-endpoints/${endpoint}`;
  const s = `/v1/event-subscriptions/${subscription}`;
  const forged = Buffer.from(JSON.stringify(["2026-01-01T00:00:00.000Z", "'; DROP TABLE x"])).toString("base64url");
  const cases: [string, string, unknown?][] = [
    ["GET", `${e}/health?window=2h`],
    ["GET", `${e}/health?window=1h&window=7d`],
    ["GET", `${e}/health?window=%00`],
    ["GET", `${e}/health?extra=1`],
    ["GET", `${s}/health?window=30d`],
    ["GET", "/v1/webhook-health?window=1h"],
    ["GET", `${e}/calls?limit=0`],
    ["GET", `${e}/calls?limit=1e309`],
    ["GET", `${e}/calls?limit=abc`],
    ["GET", `${e}/calls?cursor=${forged}`],
    ["GET", `${e}/calls?cursor=not-base64-json`],
    ["GET", `${e}/calls?outcome=maybe`],
    ["GET", `${e}/calls?from=yesterday`],
    ["GET", `${e}/calls?from=2026-02-30T00:00:00Z`],
    ["GET", `${e}/calls?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`],
    ["GET", `${s}/attempts?cursor=${forged}`],
    ["GET", `${s}/attempts?outcome=all`],
    ["GET", `${s}/attempts?to=%00`],
    ["GET", "/v1/fulfillment-endpoints/not-a-uuid/health"],
    ["POST", "/v1/fulfillment-calls/not-a-uuid/replay"],
    ["POST", `${s}/replay`, {}],
    ["POST", `${s}/replay`, { from: "soon" }],
    ["POST", `${s}/replay`, { from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" }],
    ["POST", `${s}/replay`, { from: "2026-01-01T00:00:00Z", since: "2026-01-01T00:00:00Z" }],
    ["POST", `${s}/replay`, { from: "2026-01-01T00:00:00Z", all: true }],
    ["POST", `${s}/replay`, { from: ["2026-01-01T00:00:00Z"] }],
  ];
  for (const [method, url, payload] of cases) {
    const response = await call(method, url, payload);
    assert.equal(response.status, 400, `${method} ${url} ${JSON.stringify(payload)}: ${JSON.stringify(response.body)}`);
    assert.ok(response.body.error.code, url);
  }
});

test("a read-only key sees health and attempts but replays and enables nothing", async () => {
  const endpoint = await newEndpoint("read-only");
  const subscription = await newSubscription();
  answer = () => ({ status: 200, body: "{}" });
  const recorded = await realCall(endpoint, webhookRequest(11));
  const created = await call("POST", "/v1/api-keys", { name: "dashboard", scopes: ["read-only"] });
  assert.equal(created.status, 201);
  const reader: string = created.body.key;
  for (const url of [
    "/v1/webhook-health",
    `/v1/fulfillment-endpoints/${endpoint}/health`,
    `/v1/fulfillment-endpoints/${endpoint}/calls`,
    `/v1/event-subscriptions/${subscription}/health`,
    `/v1/event-subscriptions/${subscription}/attempts`,
  ])
    assert.equal((await call("GET", url, undefined, reader)).status, 200, url);
  const before = received.length;
  for (const [url, payload] of [
    [`/v1/fulfillment-calls/${recorded.id}/replay`],
    [`/v1/event-subscriptions/${subscription}/replay`, { from: minutesAgo(5).toISOString() }],
    [`/v1/event-subscriptions/${subscription}/enable`],
  ] as const) {
    const refused = await call("POST", url, payload, reader);
    assert.deepEqual([refused.status, refused.body.error.code], [403, "forbidden"], url);
  }
  assert.equal(received.length, before, "nothing replayed");
});
