import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { prismaSql } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createEgress, parsePolicy } from "@cb/egress";
import { generateSigningSecret } from "@cb/fulfillment";
import { startWorker, type JobHelpers, type JobRunner } from "@cb/jobs";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { Webhook } from "standardwebhooks";
import {
  createDeliverTask,
  DELIVER_EVENT,
  emitEvent,
  emitEvents,
  eventParameters,
  RETRY_SCHEDULE_MS,
  replayDelivery,
  replayFailed,
  withEvents,
  type EventType,
} from "../src/index.ts";

type Received = { method: string; path: string; headers: Record<string, string>; body: string; at: number };
type Behaviour = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };
let t: TestDatabase;
let server: Server;
let base: string;
let runner: JobRunner;
let tenantId: string;
const received: Received[] = [];
const behaviour = new Map<string, (n: number) => Behaviour>();
const sealer = createSealer(parseKeyRing(generateKey("k")));
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
// The worker's schedule, compressed; attempts time out after a second.
const SCHEDULE = [0, 200, 400, 400];

before(async () => {
  t = await createTestDatabase();
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({
        method: req.method!,
        path: req.url!,
        headers: req.headers as Record<string, string>,
        body,
        at: Date.now(),
      });
      const n = received.filter((r) => r.path === req.url).length;
      const answer = behaviour.get(req.url!)?.(n) ?? { status: 200 };
      setTimeout(() => {
        if (res.destroyed) return;
        res
          .writeHead(answer.status, { "content-type": "application/json", ...answer.headers })
          .end(answer.body ?? JSON.stringify({ n }));
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  runner = await startWorker({
    connectionString: t.url,
    concurrency: 4,
    pollIntervalMs: 100,
    taskList: {
      [DELIVER_EVENT]: createDeliverTask({ db: t.db, egress, sealer, schedule: SCHEDULE, timeoutMs: 1000 }),
    },
  });
});
after(async () => {
  await runner.stop();
  await egress.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.drop();
});

async function subscribe(
  path: string,
  eventTypes = ["*"],
  fields: { tenant?: string; secrets?: string[]; enabled?: boolean; url?: string } = {},
) {
  const secrets = fields.secrets ?? [generateSigningSecret()];
  const s = await t.db.eventSubscription.create({
    data: {
      tenantId: fields.tenant ?? tenantId,
      url: fields.url ?? `${base}${path}`,
      eventTypes,
      secrets: sealer.sealJson({ signingSecrets: secrets }),
      ...(fields.enabled === undefined ? {} : { enabled: fields.enabled }),
    },
  });
  return { id: s.id, url: s.url, secret: secrets[0]! };
}
const emit = (type: EventType, data: Record<string, unknown>, tenant = tenantId) =>
  t.db.$transaction((tx) => emitEvent(prismaSql(tx), { tenantId: tenant, type, data }));
async function until<T>(check: () => Promise<T | undefined | null | false>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}
const deliveryIn = (eventId: string, subscriptionId: string, status: string) =>
  until(() => t.db.eventDelivery.findFirst({ where: { eventId, subscriptionId, status } }));
const attemptsOf = (deliveryId: string) =>
  t.db.deliveryAttempt.findMany({ where: { deliveryId }, orderBy: { at: "asc" } });
const requestsTo = (path: string) => received.filter((r) => r.path === path);

test("events reach subscribers signed (verifiable with standardwebhooks), with a stable id; only wanted types", async () => {
  const all = await subscribe("/all");
  await subscribe("/intents-only", ["intent.matched"]);
  const id = await emit("message.received", { text: "hi" });
  assert.match(id ?? "", /^evt_[A-Za-z0-9_-]{22}$/);
  const got = await until(async () => received.find((r) => r.path === "/all" && r.headers["webhook-id"] === id));
  const payload = new Webhook(all.secret).verify(got.body, got.headers) as {
    id: string;
    type: string;
    data: unknown;
    version: number;
    timestamp: string;
    createdAt: string;
  };
  assert.deepEqual(
    [payload.id, payload.type, payload.version, payload.data],
    [id, "message.received", 1, { text: "hi" }],
  );
  const stored = await t.db.event.findUniqueOrThrow({ where: { id: id! } });
  assert.equal(payload.timestamp, stored.createdAt.toISOString(), "Standard Webhooks' `timestamp`");
  assert.equal(payload.createdAt, payload.timestamp, "createdAt kept for existing receivers");
  assert.deepEqual([got.method, got.headers["content-type"]], ["POST", "application/json"]);
  await deliveryIn(id!, all.id, "succeeded");
  assert.ok(!received.some((r) => r.path === "/intents-only" && r.headers["webhook-id"] === id));
  const quiet = (await t.db.tenant.create({ data: { name: "No subscribers" } })).id;
  assert.equal(await emit("message.sent", {}, quiet), null, "no subscriber, nothing stored");
  assert.equal(await t.db.event.count({ where: { tenantId: quiet } }), 0);
});

test("emitEvents stores each event some enabled subscription wants, one delivery per such subscription, in the caller's transaction", async () => {
  const shop = (await t.db.tenant.create({ data: { name: "Emitter" } })).id;
  const other = (await t.db.tenant.create({ data: { name: "Someone else" } })).id;
  const both = await subscribe("/emit-both", ["message.received", "intent.matched"], { tenant: shop });
  const intents = await subscribe("/emit-intents", ["intent.matched"], { tenant: shop });
  await subscribe("/emit-disabled", ["*"], { tenant: shop, enabled: false });
  await subscribe("/emit-other-tenant", ["*"], { tenant: other });

  const ids = await t.db.$transaction((tx) =>
    emitEvents(prismaSql(tx), shop, [
      { type: "message.received", data: { a: 1 } },
      { type: "conversation.started", data: { b: 2 } },
      { type: "intent.matched", data: { c: 3 } },
    ]),
  );
  assert.equal(ids.length, 3);
  assert.equal(ids[1], null, "nobody wants conversation.started");
  assert.ok(ids[0] && ids[2] && ids[0] !== ids[2]);
  const events = await t.db.event.findMany({ where: { tenantId: shop }, orderBy: { type: "asc" } });
  assert.deepEqual(
    events.map((e) => [e.id, e.type, e.data]),
    [
      [ids[2], "intent.matched", { c: 3 }],
      [ids[0], "message.received", { a: 1 }],
    ],
  );
  const deliveries = await t.db.eventDelivery.findMany({ where: { tenantId: shop } });
  const pairs = deliveries.map((d) => `${d.eventId}>${d.subscriptionId}`).sort();
  assert.deepEqual(pairs, [`${ids[0]}>${both.id}`, `${ids[2]}>${both.id}`, `${ids[2]}>${intents.id}`].sort());
  for (const d of deliveries) await deliveryIn(d.eventId, d.subscriptionId, "succeeded");
  assert.equal(requestsTo("/emit-disabled").length + requestsTo("/emit-other-tenant").length, 0);
  assert.deepEqual(await t.db.$transaction((tx) => emitEvents(prismaSql(tx), shop, [])), []);

  // Rolled back with the caller's transaction: no event, no delivery.
  await assert.rejects(
    t.db.$transaction(async (tx) => {
      await emitEvent(prismaSql(tx), { tenantId: shop, type: "intent.matched", data: { d: 4 } });
      throw new Error("the turn failed");
    }),
    /the turn failed/,
  );
  assert.equal(await t.db.event.count({ where: { tenantId: shop } }), 2);
  assert.equal(await t.db.eventDelivery.count({ where: { tenantId: shop } }), 3);

  // withEvents: the caller's own statements ($5 on) and the events in one statement.
  const { ids: more, values } = eventParameters(shop, [{ type: "intent.matched", data: { e: 5 } }]);
  await t.pool.query(
    withEvents([
      `renamed AS (UPDATE "Tenant" SET name = $5 WHERE id = $1::uuid RETURNING id)`,
      `other AS (UPDATE "Tenant" SET language = $6 WHERE id = $7::uuid RETURNING id)`,
    ]),
    [...values, "Emitter, renamed", "de", other],
  );
  assert.equal((await t.db.tenant.findUniqueOrThrow({ where: { id: shop } })).name, "Emitter, renamed");
  assert.equal((await t.db.tenant.findUniqueOrThrow({ where: { id: other } })).language, "de");
  assert.deepEqual((await t.db.event.findUniqueOrThrow({ where: { id: more[0]! } })).data, { e: 5 });

  // withEvents' `when`: the events only when the caller's update found its row; `also`: its own columns.
  const conditional = withEvents(
    [`renamed AS (UPDATE "Tenant" SET name = $5 WHERE id = $1::uuid AND name = $6 RETURNING id)`],
    { when: "EXISTS (SELECT 1 FROM renamed)", also: ["EXISTS (SELECT 1 FROM renamed) AS renamed"] },
  );
  const renameTo = async (name: string, from: string) => {
    const { ids, values } = eventParameters(shop, [{ type: "intent.matched", data: { renamed: name } }]);
    const { rows } = await t.pool.query(conditional, [...values, name, from]);
    return { renamed: rows[0].renamed, stored: rows[0].stored, ids };
  };
  const missed = await renameTo("Emitter 3", "not its name");
  assert.deepEqual([missed.renamed, missed.stored], [false, null]);
  assert.equal(await t.db.event.count({ where: { id: missed.ids[0]! } }), 0);
  const done = await renameTo("Emitter 3", "Emitter, renamed");
  assert.deepEqual([done.renamed, done.stored], [true, done.ids]);
  assert.deepEqual((await t.db.event.findUniqueOrThrow({ where: { id: done.ids[0]! } })).data, {
    renamed: "Emitter 3",
  });
});

test("while a secret is rotated both the new and the previous one sign each delivery", async () => {
  const [next, previous] = [generateSigningSecret(), generateSigningSecret()];
  const s = await subscribe("/rotating", ["message.sent"], { secrets: [next, previous] });
  const id = await emit("message.sent", { rotated: true });
  await deliveryIn(id!, s.id, "succeeded");
  const [got] = requestsTo("/rotating");
  assert.equal(got!.headers["webhook-signature"]!.split(" ").length, 2);
  for (const secret of [next, previous])
    assert.deepEqual((new Webhook(secret).verify(got!.body, got!.headers) as { data: unknown }).data, {
      rotated: true,
    });
  assert.throws(
    () => new Webhook(generateSigningSecret()).verify(got!.body, got!.headers),
    "a stranger's secret does not",
  );
});

test("failures are retried on schedule, re-signed each time with the same id, every attempt recorded", async () => {
  behaviour.set("/flaky", (n) => ({ status: n < 3 ? 500 : 200 }));
  const s = await subscribe("/flaky", ["intent.matched"]);
  const id = await emit("intent.matched", { intent: "order.status" });
  const delivery = await deliveryIn(id!, s.id, "succeeded");
  assert.deepEqual([delivery.attempts, delivery.lastError, delivery.nextAttemptAt], [3, null, null]);
  const attempts = await attemptsOf(delivery.id);
  assert.deepEqual(
    attempts.map((a) => [a.httpStatus, a.error, a.responseExcerpt]),
    [
      [500, "HTTP 500", '{"n":1}'],
      [500, "HTTP 500", '{"n":2}'],
      [200, null, '{"n":3}'],
    ],
  );
  assert.ok(attempts.every((a) => a.latencyMs >= 0 && a.latencyMs < 1000));
  const tries = requestsTo("/flaky");
  assert.equal(tries.length, 3);
  assert.ok(tries.every((r) => r.headers["webhook-id"] === id));
  for (const r of tries) new Webhook(s.secret).verify(r.body, r.headers);
  assert.ok(tries[1]!.at - tries[0]!.at >= 150, "the schedule spaced the attempts");
  assert.ok(tries[2]!.at - tries[1]!.at >= 350, "and further apart each time");
  assert.equal(
    (await t.db.eventSubscription.findUniqueOrThrow({ where: { id: s.id } })).failingSince,
    null,
    "a success clears the failing streak",
  );
});

test("after the last attempt a delivery is dead; any non-2xx (a 404 too) is retried until then", async () => {
  behaviour.set("/missing", () => ({ status: 404 }));
  const s = await subscribe("/missing", ["intent.matched"]);
  const id = await emit("intent.matched", {});
  const dead = await deliveryIn(id!, s.id, "dead");
  assert.deepEqual([dead.attempts, dead.lastError, dead.nextAttemptAt], [SCHEDULE.length, "HTTP 404", null]);
  assert.equal(requestsTo("/missing").length, SCHEDULE.length);
  const sub = await t.db.eventSubscription.findUniqueOrThrow({ where: { id: s.id } });
  assert.equal(sub.enabled, true, "a 404 does not disable the endpoint");
  assert.ok(sub.failingSince, "the endpoint is failing since the first attempt");
  const [first] = await attemptsOf(dead.id);
  assert.ok(Math.abs(sub.failingSince.getTime() - first!.at.getTime()) < 1000, "since the first failure, not the last");
});

test("429 with Retry-After waits that long (signed afresh); redirects are failures, not followed", async () => {
  behaviour.set("/busy", (n) => (n === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 }));
  const s = await subscribe("/busy", ["message.received"]);
  const id = await emit("message.received", {});
  await deliveryIn(id!, s.id, "succeeded");
  const tries = requestsTo("/busy");
  assert.ok(tries[1]!.at - tries[0]!.at >= 900, `waited ${tries[1]!.at - tries[0]!.at} ms`);
  assert.notEqual(tries[0]!.headers["webhook-timestamp"], tries[1]!.headers["webhook-timestamp"], "a new timestamp");
  for (const r of tries) new Webhook(s.secret).verify(r.body, r.headers);

  const all = await subscribe("/all-for-redirects", ["message.received"]);
  behaviour.set("/moved", (n) => ({ status: n === 1 ? 300 : 302, headers: { location: `${base}/all-for-redirects` } }));
  const moved = await subscribe("/moved", ["message.received"]);
  const movedId = await emit("message.received", {});
  const dead = await deliveryIn(movedId!, moved.id, "dead");
  assert.equal(dead.lastError, "HTTP 302");
  assert.deepEqual(
    (await attemptsOf(dead.id)).map((a) => a.httpStatus),
    [300, 302, 302, 302],
    "any 3xx, 300 included, is a failure",
  );
  assert.equal(requestsTo("/moved").length, SCHEDULE.length, "every attempt of the schedule, each a failure");
  await deliveryIn(movedId!, all.id, "succeeded");
  assert.equal(requestsTo("/all-for-redirects").length, 1, "only its own delivery reached the redirect's target");
});

test("an endpoint that does not answer in time, or cannot be reached, fails the attempt and is retried", async () => {
  behaviour.set("/slow", (n) => (n === 1 ? { status: 200, delayMs: 2500 } : { status: 200 }));
  const slow = await subscribe("/slow", ["message.received"]);
  const id = await emit("message.received", { slow: true });
  const done = await deliveryIn(id!, slow.id, "succeeded");
  const attempts = await attemptsOf(done.id);
  assert.deepEqual(
    attempts.map((a) => [a.httpStatus, a.error]),
    [
      [null, "timeout: no complete answer within 1000 ms"],
      [200, null],
    ],
  );

  // A port nobody listens on (taken from the system, then closed).
  const spare = createServer();
  await new Promise<void>((resolve) => spare.listen(0, "127.0.0.1", resolve));
  const port = (spare.address() as AddressInfo).port;
  await new Promise((resolve) => spare.close(resolve));
  const closed = await subscribe("/closed", ["conversation.started"], { url: `http://127.0.0.1:${port}/hook` });
  const closedId = await emit("conversation.started", {});
  const dead = await deliveryIn(closedId!, closed.id, "dead");
  assert.match(dead.lastError ?? "", /^connect_failed: /);
  assert.equal((await attemptsOf(dead.id)).length, SCHEDULE.length);
  assert.ok((await attemptsOf(dead.id)).every((a) => a.errorClass === "connection"));
});

test("a large answer is a success, recorded by its first 16 KiB, with the request sent and its signature redacted", async () => {
  const body = "x".repeat(20_000);
  behaviour.set("/large", () => ({ status: 200, body }));
  const s = await subscribe("/large", ["message.failed"]);
  const id = await emit("message.failed", { why: "test" });
  const done = await deliveryIn(id!, s.id, "succeeded");
  const [attempt] = await attemptsOf(done.id);
  assert.equal(attempt!.responseExcerpt, body.slice(0, 16 * 1024));
  assert.equal(attempt!.subscriptionId, s.id);
  assert.equal(attempt!.errorClass, null);
  const sent = requestsTo("/large").at(-1)!;
  assert.equal(attempt!.requestBody, sent.body, "the body as posted");
  assert.deepEqual(JSON.parse(attempt!.requestBody!).data, { why: "test" });
  const headers = attempt!.requestHeaders as Record<string, string>;
  assert.equal(headers["webhook-id"], id);
  assert.equal(headers["webhook-signature"], "[redacted]");
  assert.notEqual(sent.headers["webhook-signature"], "[redacted]", "only the record is redacted");
});

test("each failed attempt records its error class", async () => {
  behaviour.set("/class-4xx", () => ({ status: 422 }));
  behaviour.set("/class-5xx", () => ({ status: 502 }));
  behaviour.set("/class-slow", () => ({ status: 200, delayMs: 1500 }));
  for (const [path, expected] of [
    ["/class-4xx", "http_4xx"],
    ["/class-5xx", "http_5xx"],
    ["/class-slow", "timeout"],
  ] as const) {
    const s = await subscribe(path, ["message.sent"]);
    const id = await emit("message.sent", {});
    const d = await deliveryIn(id!, s.id, "dead");
    const classes = new Set((await attemptsOf(d.id)).map((a) => a.errorClass));
    assert.deepEqual([...classes], [expected], path);
  }
});

test("410 Gone disables the endpoint at once and other subscriptions hear endpoint.disabled; replay resends", async () => {
  behaviour.set("/gone", () => ({ status: 410 }));
  const gone = await subscribe("/gone", ["message.received"]);
  const watcher = await subscribe("/watcher", ["endpoint.disabled"]);
  const id = await emit("message.received", {});
  const sub = await until(async () => {
    const s = await t.db.eventSubscription.findUniqueOrThrow({ where: { id: gone.id } });
    return s.enabled ? undefined : s;
  });
  assert.equal(sub.disabledReason, "the endpoint answered 410 Gone");
  const notice = await until(async () => received.find((r) => r.path === "/watcher"));
  const payload = new Webhook(watcher.secret).verify(notice.body, notice.headers) as { type: string; data: unknown };
  assert.deepEqual(payload.type, "endpoint.disabled");
  assert.deepEqual(payload.data, { subscriptionId: gone.id, url: gone.url, reason: "the endpoint answered 410 Gone" });
  const single = await deliveryIn(id!, gone.id, "dead");
  assert.equal(single.attempts, 0, "a 410 is not retried");
  assert.equal(requestsTo("/gone").length, 1);

  // Replayed while the endpoint is disabled: given up again without a request.
  assert.equal(await replayDelivery(t.db, tenantId, single.id), 1);
  await until(async () => (await t.db.eventDelivery.findUniqueOrThrow({ where: { id: single.id } })).status === "dead");
  assert.equal(requestsTo("/gone").length, 1);

  // The endpoint is fixed and re-enabled; everything it missed is replayed.
  behaviour.set("/gone", () => ({ status: 200, delayMs: 500 }));
  await t.db.eventSubscription.update({ where: { id: gone.id }, data: { enabled: true, disabledReason: null } });
  assert.equal(await replayFailed(t.db, tenantId, gone.id, { from: new Date(Date.now() - 60_000) }), 1);
  const replayed = await t.db.eventDelivery.findUniqueOrThrow({ where: { id: single.id } });
  assert.equal(replayed.status, "pending", "pending again at once (its attempt takes half a second)");
  assert.ok(Math.abs(replayed.nextAttemptAt!.getTime() - Date.now()) < 1000);
  await deliveryIn(id!, gone.id, "succeeded");
  assert.equal(requestsTo("/gone").at(-1)?.headers["webhook-id"], id, "the same event id");
  assert.equal(await replayDelivery(t.db, tenantId, single.id), 1, "a delivered one can be sent again too");
  await until(async () => requestsTo("/gone").length === 3);
  assert.equal(
    await replayDelivery(t.db, "00000000-0000-4000-8000-000000000000", single.id),
    null,
    "another tenant cannot replay it",
  );
});

test("a replay while the previous one is still pending sends nothing more, for one delivery and for a range", async () => {
  behaviour.set("/twice", () => ({ status: 500 }));
  const s = await subscribe("/twice", ["handoff.ended"]);
  const id = await emit("handoff.ended", {});
  const d = await deliveryIn(id!, s.id, "dead");
  const before = requestsTo("/twice").length;
  // The fixed endpoint answers slowly: the replayed attempt is under way (pending) for half a second.
  behaviour.set("/twice", () => ({ status: 200, delayMs: 500 }));
  assert.equal(await replayDelivery(t.db, tenantId, d.id), 1);
  assert.equal(await replayDelivery(t.db, tenantId, d.id), 0, "already pending");
  const range = { from: new Date(Date.now() - 60_000) };
  assert.equal(await replayFailed(t.db, tenantId, s.id, range), 0, "pending is not failed");
  await deliveryIn(id!, s.id, "succeeded");
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(requestsTo("/twice").length, before + 1, "sent once");

  behaviour.set("/twice", () => ({ status: 500 }));
  const again = await emit("handoff.ended", {});
  await deliveryIn(again!, s.id, "dead");
  behaviour.set("/twice", () => ({ status: 200, delayMs: 500 }));
  const [first, second] = await Promise.all([
    replayFailed(t.db, tenantId, s.id, range),
    replayFailed(t.db, tenantId, s.id, range),
  ]);
  assert.deepEqual([first, second].sort(), [0, 1], "two replays at once: one queues it");
  await deliveryIn(again!, s.id, "succeeded");
  behaviour.set("/twice", () => ({ status: 500 }));
  const cut = new Date();
  // Stored times are milliseconds: one made within the cut's own millisecond would count as before it.
  await new Promise((r) => setTimeout(r, 5));
  const late = await emit("handoff.ended", {});
  await deliveryIn(late!, s.id, "dead");
  assert.equal(await replayFailed(t.db, tenantId, s.id, { from: range.from, to: cut }), 0, "made after to");
  assert.equal(await replayFailed(t.db, tenantId, s.id, { from: cut }), 1);
});

test("replaying a subscription sends again what failed or died since the given time, nothing else", async () => {
  behaviour.set("/replay", () => ({ status: 200 }));
  const s = await subscribe("/replay", ["handoff.requested"]);
  const other = await subscribe("/replay-other", ["handoff.requested"]);
  const stored = async (subscriptionId: string, status: string, createdAt: Date) => {
    const event = await t.db.event.create({
      data: { id: `evt_${randomUUID()}`, tenantId, type: "handoff.requested", data: {} },
    });
    return t.db.eventDelivery.create({ data: { tenantId, eventId: event.id, subscriptionId, status, createdAt } });
  };
  const since = new Date(Date.now() - 3600_000);
  const recent = new Date(Date.now() - 60_000);
  const failed = await stored(s.id, "failed", recent);
  const dead = await stored(s.id, "dead", recent);
  const untouched = [
    await stored(s.id, "succeeded", recent),
    await stored(s.id, "dead", new Date(since.getTime() - 1000)),
    await stored(other.id, "dead", recent),
  ];

  assert.equal(await replayFailed(t.db, tenantId, s.id, { from: since }), 2);
  for (const d of [failed, dead]) await deliveryIn(d.eventId, s.id, "succeeded");
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(
    requestsTo("/replay")
      .map((r) => r.headers["webhook-id"])
      .sort(),
    [failed.eventId, dead.eventId].sort(),
  );
  assert.equal(requestsTo("/replay-other").length, 0);
  for (const d of untouched)
    assert.equal((await t.db.eventDelivery.findUniqueOrThrow({ where: { id: d.id } })).status, d.status);
  assert.equal(await replayFailed(t.db, tenantId, s.id, { from: since }), 0, "nothing failed any more");
  const stranger = (await t.db.tenant.create({ data: { name: "Stranger" } })).id;
  assert.equal(await replayFailed(t.db, stranger, s.id, { from: since }), null, "not another tenant's subscription");
});

// The task run by hand, on a clock of the test's choosing, with the default schedule and period.
const helpers = {} as JobHelpers;
const runAt = (at: Date) => createDeliverTask({ db: t.db, egress, sealer, now: () => at });
async function storedDelivery(path: string, fields: { attempts?: number } = {}) {
  const sub = await subscribe(path, ["handoff.requested"]);
  const event = await t.db.event.create({
    data: { id: `evt_${randomUUID()}`, tenantId, type: "handoff.requested", data: { path } },
  });
  const delivery = await t.db.eventDelivery.create({
    data: { tenantId, eventId: event.id, subscriptionId: sub.id, attempts: fields.attempts ?? 0 },
  });
  return { sub, event, delivery };
}
/** The next attempt's job, taken off the queue so that the worker leaves it alone. */
async function takeNextJob(deliveryId: string): Promise<{ key: string; run_at: Date } | undefined> {
  const { rows } = await t.pool.query<{ key: string; run_at: Date }>(
    `DELETE FROM graphile_worker._private_jobs WHERE key LIKE $1 RETURNING key, run_at`,
    [`delivery:${deliveryId}:%`],
  );
  return rows[0];
}

test("the documented schedule: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each ±10%, then dead", async () => {
  assert.deepEqual(RETRY_SCHEDULE_MS, [
    0,
    5_000,
    5 * 60_000,
    30 * 60_000,
    2 * 3600_000,
    5 * 3600_000,
    10 * 3600_000,
    10 * 3600_000,
  ]);
  behaviour.set("/down", () => ({ status: 500 }));
  const at = new Date();
  const spread = new Set<number>();
  for (let failed = 0; failed < RETRY_SCHEDULE_MS.length - 1; failed++) {
    const { delivery } = await storedDelivery("/down", { attempts: failed });
    await runAt(at)({ deliveryId: delivery.id }, helpers);
    const after = await t.db.eventDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    const wait = after.nextAttemptAt!.getTime() - at.getTime();
    const planned = RETRY_SCHEDULE_MS[failed + 1]!;
    assert.ok(wait >= planned * 0.9 && wait <= planned * 1.1, `after ${failed + 1} failures: ${wait} ms`);
    spread.add(wait / planned);
    assert.deepEqual([after.status, after.attempts, after.lastError], ["failed", failed + 1, "HTTP 500"]);
    const job = await takeNextJob(delivery.id);
    assert.deepEqual(
      [job?.key, job?.run_at.getTime()],
      [`delivery:${delivery.id}:${failed + 1}`, after.nextAttemptAt!.getTime()],
    );
  }
  assert.ok(spread.size > 1, "jittered");
  const { delivery } = await storedDelivery("/down", { attempts: RETRY_SCHEDULE_MS.length - 1 });
  await runAt(at)({ deliveryId: delivery.id }, helpers);
  const dead = await t.db.eventDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
  assert.deepEqual([dead.status, dead.attempts, dead.nextAttemptAt], ["dead", RETRY_SCHEDULE_MS.length, null]);
  assert.equal(await takeNextJob(delivery.id), undefined);
});

test("Retry-After (seconds or a date) on a 429 or 503 postpones the next attempt; elsewhere, or unreadable, it is ignored", async () => {
  const cases: [number, string, number, number][] = [
    // status, Retry-After, least and most wait (ms)
    [503, "120", 120_000, 120_000],
    [429, "120", 120_000, 120_000],
    [503, new Date(Date.now() + 600_000).toUTCString(), 590_000, 600_000],
    [503, new Date(Date.now() - 600_000).toUTCString(), 4500, 5500],
    [503, "soon", 4500, 5500],
    [503, "1", 4500, 5500],
    [500, "120", 4500, 5500],
  ];
  for (const [status, retryAfter, least, most] of cases) {
    const path = `/retry-after-${randomUUID()}`;
    behaviour.set(path, () => ({ status, headers: { "retry-after": retryAfter } }));
    const { delivery } = await storedDelivery(path);
    const at = new Date();
    await runAt(at)({ deliveryId: delivery.id }, helpers);
    const after = await t.db.eventDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
    const wait = after.nextAttemptAt!.getTime() - at.getTime();
    assert.ok(wait >= least && wait <= most, `${status} Retry-After ${retryAfter}: ${wait} ms`);
    await takeNextJob(delivery.id);
  }
});

test("an endpoint failing without a success for 5 days is disabled (not a moment before), its deliveries given up, and others told", async () => {
  behaviour.set("/failing", () => ({ status: 500 }));
  const watcher = await subscribe("/watcher-days", ["endpoint.disabled"]);
  const { sub, delivery } = await storedDelivery("/failing");
  const waiting = await t.db.eventDelivery.create({
    data: { tenantId, eventId: delivery.eventId, subscriptionId: sub.id, status: "failed", attempts: 1 },
  });
  const delivered = await t.db.eventDelivery.create({
    data: { tenantId, eventId: delivery.eventId, subscriptionId: sub.id, status: "succeeded", attempts: 1 },
  });
  const elsewhere = await storedDelivery("/healthy");
  await t.db.eventDelivery.update({ where: { id: elsewhere.delivery.id }, data: { status: "failed", attempts: 1 } });
  // Clocks ahead of the real one, so that the next attempts' jobs are not due while the test looks at them.
  const since = new Date(Date.now() + 30 * 24 * 3600_000);
  const period = 5 * 24 * 3600_000;
  const subscription = () => t.db.eventSubscription.findUniqueOrThrow({ where: { id: sub.id } });

  await runAt(since)({ deliveryId: delivery.id }, helpers);
  assert.equal(
    (await subscription()).failingSince?.toISOString(),
    since.toISOString(),
    "failing since the first failure",
  );
  await takeNextJob(delivery.id);
  await runAt(new Date(since.getTime() + period))({ deliveryId: delivery.id }, helpers);
  let s = await subscription();
  assert.deepEqual([s.enabled, s.failingSince?.toISOString()], [true, since.toISOString()], "5 days exactly: not yet");
  assert.equal((await t.db.eventDelivery.findUniqueOrThrow({ where: { id: delivery.id } })).status, "failed");
  await takeNextJob(delivery.id);
  assert.equal(
    await t.db.event.count({
      where: { tenantId, type: "endpoint.disabled", data: { path: ["subscriptionId"], equals: sub.id } },
    }),
    0,
  );

  await runAt(new Date(since.getTime() + period + 1))({ deliveryId: delivery.id }, helpers);
  s = await subscription();
  const reason = `every delivery failed since ${since.toISOString()}`;
  assert.deepEqual([s.enabled, s.disabledReason], [false, reason]);
  const given = await t.db.eventDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
  assert.deepEqual([given.status, given.attempts, given.lastError, given.nextAttemptAt], ["dead", 3, "HTTP 500", null]);
  const statusOf = async (id: string) => (await t.db.eventDelivery.findUniqueOrThrow({ where: { id } })).status;
  assert.deepEqual(
    [await statusOf(waiting.id), await statusOf(delivered.id), await statusOf(elsewhere.delivery.id)],
    ["dead", "succeeded", "failed"],
    "the endpoint's waiting deliveries are given up, not its delivered ones nor another endpoint's",
  );
  assert.equal(await takeNextJob(delivery.id), undefined, "no further attempt");
  assert.equal(requestsTo("/failing").length, 3);

  const notice = await until(async () => requestsTo("/watcher-days").find((r) => r.body.includes(sub.id)));
  const payload = new Webhook(watcher.secret).verify(notice.body, notice.headers) as { type: string; data: unknown };
  assert.deepEqual(
    [payload.type, payload.data],
    ["endpoint.disabled", { subscriptionId: sub.id, url: sub.url, reason }],
  );

  // A delivery of the disabled endpoint that comes up is given up without a request.
  await t.db.eventDelivery.update({ where: { id: waiting.id }, data: { status: "pending" } });
  await runAt(new Date())({ deliveryId: waiting.id }, helpers);
  assert.equal((await t.db.eventDelivery.findUniqueOrThrow({ where: { id: waiting.id } })).status, "dead");
  assert.equal(requestsTo("/failing").length, 3);
});

test("a success ends the failing streak; a delivery already done or gone is left alone", async () => {
  let answer = 500;
  behaviour.set("/recovering", () => ({ status: answer }));
  const { sub, delivery } = await storedDelivery("/recovering");
  const first = new Date(Date.now() + 3 * 24 * 3600_000);
  await runAt(first)({ deliveryId: delivery.id }, helpers);
  await takeNextJob(delivery.id);
  await runAt(new Date(first.getTime() + 3600_000))({ deliveryId: delivery.id }, helpers);
  await takeNextJob(delivery.id);
  assert.equal(
    (await t.db.eventSubscription.findUniqueOrThrow({ where: { id: sub.id } })).failingSince?.toISOString(),
    first.toISOString(),
    "a later failure does not move the start of the streak",
  );
  answer = 200;
  await runAt(new Date(first.getTime() + 7200_000))({ deliveryId: delivery.id }, helpers);
  assert.equal((await t.db.eventSubscription.findUniqueOrThrow({ where: { id: sub.id } })).failingSince, null);
  const done = await t.db.eventDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
  assert.deepEqual([done.status, done.attempts], ["succeeded", 3]);

  await runAt(new Date())({ deliveryId: delivery.id }, helpers);
  await runAt(new Date())({ deliveryId: randomUUID() }, helpers);
  assert.equal(requestsTo("/recovering").length, 3, "a succeeded delivery is not sent again by a stray job");
  await t.db.eventDelivery.update({ where: { id: delivery.id }, data: { status: "dead" } });
  await runAt(new Date())({ deliveryId: delivery.id }, helpers);
  assert.equal(requestsTo("/recovering").length, 3, "nor a dead one (only a replay revives it)");
});

test("an unexpected error of the HTTP client fails the attempt, recorded, and is retried", async () => {
  const broken = {
    request: async () => {
      throw new Error("socket hang up");
    },
    close: async () => {},
  };
  const { sub, delivery } = await storedDelivery("/never-reached");
  await createDeliverTask({ db: t.db, egress: broken, sealer })({ deliveryId: delivery.id }, helpers);
  const after = await t.db.eventDelivery.findUniqueOrThrow({ where: { id: delivery.id } });
  assert.deepEqual([after.status, after.lastError], ["failed", "failed: socket hang up"]);
  assert.deepEqual(
    (await attemptsOf(delivery.id)).map((a) => [a.httpStatus, a.error]),
    [[null, "failed: socket hang up"]],
  );
  assert.ok((await takeNextJob(delivery.id))?.key, "the next attempt is queued");
  assert.ok((await t.db.eventSubscription.findUniqueOrThrow({ where: { id: sub.id } })).failingSince);
});
