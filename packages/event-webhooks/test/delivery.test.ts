import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { prismaSql } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createEgress, parsePolicy } from "@cb/egress";
import { generateSigningSecret } from "@cb/fulfillment";
import { startWorker, type JobRunner } from "@cb/jobs";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { Webhook } from "standardwebhooks";
import { createDeliverTask, DELIVER_EVENT, emitEvent, replayDelivery, replayFailedSince } from "../src/index.ts";

type Received = { path: string; headers: Record<string, string>; body: string; at: number };
let t: TestDatabase;
let server: Server;
let base: string;
let runner: JobRunner;
let tenantId: string;
const received: Received[] = [];
const behaviour = new Map<string, (n: number) => { status: number; headers?: Record<string, string> }>();
const sealer = createSealer(parseKeyRing(generateKey("k")));
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));

before(async () => {
  t = await createTestDatabase();
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ path: req.url!, headers: req.headers as Record<string, string>, body, at: Date.now() });
      const n = received.filter((r) => r.path === req.url).length;
      const { status, headers } = behaviour.get(req.url!)?.(n) ?? { status: 200 };
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify({ n }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  runner = await startWorker({
    connectionString: t.url,
    concurrency: 4,
    pollIntervalMs: 100,
    taskList: { [DELIVER_EVENT]: createDeliverTask({ db: t.db, egress, sealer, schedule: [0, 200, 400, 400] }) },
  });
});
after(async () => {
  await runner.stop();
  await egress.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.drop();
});

async function subscribe(path: string, eventTypes = ["*"]) {
  const secret = generateSigningSecret();
  const s = await t.db.eventSubscription.create({
    data: { tenantId, url: `${base}${path}`, eventTypes, secrets: sealer.sealJson({ signingSecrets: [secret] }) },
  });
  return { id: s.id, secret };
}
const emit = (type: "message.received" | "intent.matched", data: Record<string, unknown>) =>
  t.db.$transaction((tx) => emitEvent(prismaSql(tx), { tenantId, type, data }));
async function until<T>(check: () => Promise<T | undefined | null | false>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("events reach subscribers signed (verifiable with standardwebhooks), with a stable id; only wanted types", async () => {
  const all = await subscribe("/all");
  await subscribe("/intents-only", ["intent.matched"]);
  const id = await emit("message.received", { text: "hi" });
  const got = await until(async () => received.find((r) => r.path === "/all" && r.headers["webhook-id"] === id));
  const payload = new Webhook(all.secret).verify(got.body, got.headers) as {
    id: string;
    type: string;
    data: unknown;
    version: number;
  };
  assert.deepEqual(
    [payload.id, payload.type, payload.version, payload.data],
    [id, "message.received", 1, { text: "hi" }],
  );
  await until(
    async () =>
      (await t.db.eventDelivery.findFirst({ where: { eventId: id!, subscriptionId: all.id, status: "succeeded" } })) ??
      undefined,
  );
  assert.ok(!received.some((r) => r.path === "/intents-only" && r.headers["webhook-id"] === id));
  const quiet = (await t.db.tenant.create({ data: { name: "No subscribers" } })).id;
  assert.equal(
    await t.db.$transaction((tx) => emitEvent(prismaSql(tx), { tenantId: quiet, type: "message.sent", data: {} })),
    null,
    "no subscriber, nothing stored",
  );
  assert.equal(await t.db.event.count({ where: { tenantId: quiet } }), 0);
});

test("failures are retried on schedule, re-signed each time with the same id, every attempt recorded", async () => {
  behaviour.set("/flaky", (n) => ({ status: n < 3 ? 500 : 200 }));
  const s = await subscribe("/flaky");
  const id = await emit("intent.matched", { intent: "order.status" });
  const delivery = await until(async () =>
    t.db.eventDelivery.findFirst({ where: { eventId: id!, subscriptionId: s.id, status: "succeeded" } }),
  );
  assert.equal(delivery.attempts, 3);
  const attempts = await t.db.deliveryAttempt.findMany({ where: { deliveryId: delivery.id }, orderBy: { at: "asc" } });
  assert.deepEqual(
    attempts.map((a) => a.httpStatus),
    [500, 500, 200],
  );
  assert.equal(attempts[0]!.responseExcerpt, '{"n":1}');
  const tries = received.filter((r) => r.path === "/flaky");
  assert.ok(tries.every((r) => r.headers["webhook-id"] === id));
  for (const r of tries) new Webhook(s.secret).verify(r.body, r.headers);
  assert.ok(tries[2]!.at - tries[1]!.at >= 150, "the schedule spaced the attempts");
  assert.equal(
    (await t.db.eventSubscription.findUniqueOrThrow({ where: { id: s.id } })).failingSince,
    null,
    "a success clears the failing streak",
  );
});

test("429 with Retry-After waits that long; redirects are failures, not followed", async () => {
  behaviour.set("/busy", (n) => (n === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 }));
  const s = await subscribe("/busy");
  const id = await emit("message.received", {});
  await until(async () =>
    t.db.eventDelivery.findFirst({ where: { eventId: id!, subscriptionId: s.id, status: "succeeded" } }),
  );
  const tries = received.filter((r) => r.path === "/busy");
  assert.ok(tries[1]!.at - tries[0]!.at >= 900, `waited ${tries[1]!.at - tries[0]!.at} ms`);

  behaviour.set("/moved", () => ({ status: 302, headers: { location: `${base}/all` } }));
  const moved = await subscribe("/moved");
  const before = received.filter((r) => r.path === "/all").length;
  const movedId = await emit("message.received", {});
  const dead = await until(async () =>
    t.db.eventDelivery.findFirst({ where: { eventId: movedId!, subscriptionId: moved.id, status: "dead" } }),
  );
  assert.equal(dead.lastError, "HTTP 302");
  assert.equal(
    received.filter((r) => r.path === "/all" && r.headers["webhook-id"] === movedId).length,
    1,
    "only /all's own delivery reached /all",
  );
  assert.ok(received.filter((r) => r.path === "/all").length >= before);
});

test("410 Gone disables the endpoint and other subscriptions hear endpoint.disabled; replay resends", async () => {
  behaviour.set("/gone", () => ({ status: 410 }));
  const gone = await subscribe("/gone");
  const watcher = await subscribe("/watcher", ["endpoint.disabled"]);
  const id = await emit("message.received", {});
  const sub = await until(async () => {
    const s = await t.db.eventSubscription.findUniqueOrThrow({ where: { id: gone.id } });
    return s.enabled ? undefined : s;
  });
  assert.match(sub.disabledReason ?? "", /410/);
  const notice = await until(async () => received.find((r) => r.path === "/watcher"));
  const payload = new Webhook(watcher.secret).verify(notice.body, notice.headers) as {
    type: string;
    data: { subscriptionId: string };
  };
  assert.deepEqual([payload.type, payload.data.subscriptionId], ["endpoint.disabled", gone.id]);

  // The endpoint is fixed and re-enabled; everything it missed is replayed.
  behaviour.set("/gone", () => ({ status: 200 }));
  await t.db.eventSubscription.update({ where: { id: gone.id }, data: { enabled: true, disabledReason: null } });
  assert.equal(await replayFailedSince(t.db, tenantId, gone.id, new Date(Date.now() - 60_000)), 1);
  await until(async () =>
    t.db.eventDelivery.findFirst({ where: { eventId: id!, subscriptionId: gone.id, status: "succeeded" } }),
  );
  const single = await t.db.eventDelivery.findFirstOrThrow({ where: { eventId: id!, subscriptionId: gone.id } });
  assert.equal(await replayDelivery(t.db, tenantId, single.id), 1);
  assert.equal(
    await replayDelivery(t.db, "00000000-0000-4000-8000-000000000000", single.id),
    null,
    "another tenant cannot replay it",
  );
});
