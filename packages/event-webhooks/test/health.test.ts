import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { checkWebhookHealth, HEALTH_WINDOW_MINUTES } from "../src/index.ts";

// The check reads stored attempts, so attempts are written directly, at times of the test's choosing.
let t: TestDatabase;

before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t.drop();
});

async function tenantWith(healthSettings: { failureRate?: number; minAttempts?: number } = {}) {
  const tenant = await t.db.tenant.create({ data: { name: "Acme", healthSettings } });
  const account = await t.db.channelAccount.create({
    data: { tenantId: tenant.id, channel: "telegram", name: "bot", secrets: "x" },
  });
  const conversation = await t.db.conversation.create({
    data: { tenantId: tenant.id, channelAccountId: account.id, externalId: "1" },
  });
  const message = await t.db.message.create({
    data: {
      tenantId: tenant.id,
      channelAccountId: account.id,
      conversationId: conversation.id,
      direction: "in",
      dedupeKey: "m1",
      content: {},
      status: "processed",
    },
  });
  return { tenantId: tenant.id, messageId: message.id };
}

async function endpoint(tenantId: string, name = "orders") {
  return t.db.fulfillmentEndpoint.create({ data: { tenantId, name, url: `https://${name}.example.com/hook` } });
}

async function calls(tenant: { tenantId: string; messageId: string }, endpointId: string, ok: boolean[], at: Date) {
  await t.db.fulfillmentCall.createMany({
    data: ok.map((o) => ({
      tenantId: tenant.tenantId,
      messageId: tenant.messageId,
      endpointId,
      intent: "order.status",
      ok: o,
      latencyMs: 10,
      createdAt: at,
      ...(o ? {} : { error: "the endpoint answered HTTP 500", errorClass: "http_5xx", httpStatus: 500 }),
    })),
  });
}

async function subscription(tenantId: string, path: string, eventTypes = ["endpoint.degraded", "endpoint.recovered"]) {
  return t.db.eventSubscription.create({
    data: { tenantId, url: `https://hooks.example.com${path}`, eventTypes, secrets: "sealed" },
  });
}

async function attempts(subscriptionId: string, tenantId: string, ok: boolean[], at: Date) {
  const event = await t.db.event.create({
    data: { id: `evt_${crypto.randomUUID()}`, tenantId, type: "message.sent", data: {} },
  });
  const delivery = await t.db.eventDelivery.create({
    data: { tenantId, eventId: event.id, subscriptionId, status: "failed" },
  });
  await t.db.deliveryAttempt.createMany({
    data: ok.map((o) => ({
      deliveryId: delivery.id,
      subscriptionId,
      at,
      latencyMs: 5,
      ...(o ? {} : { error: "HTTP 503", errorClass: "http_5xx", httpStatus: 503 }),
    })),
  });
}

const eventsOf = (tenantId: string, type: string) =>
  t.db.event.findMany({ where: { tenantId, type }, include: { deliveries: true }, orderBy: { createdAt: "asc" } });
const minutesAgo = (now: Date, m: number) => new Date(now.getTime() - m * 60_000);

test("an endpoint over the threshold is degraded once, and recovered once, each with its event", async () => {
  const tenant = await tenantWith();
  const e = await endpoint(tenant.tenantId);
  const watcher = await subscription(tenant.tenantId, "/watcher");
  const now = new Date();
  // 5 of 10 failed: at the default threshold (0.5) and minimum (10).
  await calls(tenant, e.id, [...Array(5).fill(true), ...Array(5).fill(false)], minutesAgo(now, 5));
  // Older than the window: not counted.
  await calls(tenant, e.id, Array(50).fill(true), minutesAgo(now, HEALTH_WINDOW_MINUTES + 1));

  const changes = await checkWebhookHealth(t.db, now);
  assert.deepEqual(
    changes.filter((c) => c.id === e.id),
    [{ kind: "fulfillment", id: e.id, to: "degraded" }],
  );
  const stored = await t.db.fulfillmentEndpoint.findUniqueOrThrow({ where: { id: e.id } });
  assert.equal(stored.degradedSince?.getTime(), now.getTime());
  const [degraded, ...more] = await eventsOf(tenant.tenantId, "endpoint.degraded");
  assert.equal(more.length, 0);
  assert.deepEqual(degraded!.data, {
    endpointId: e.id,
    name: "orders",
    kind: "fulfillment",
    url: e.url,
    attempts: 10,
    failed: 5,
    failureRate: 0.5,
    threshold: 0.5,
    windowMinutes: HEALTH_WINDOW_MINUTES,
  });
  assert.deepEqual(
    degraded!.deliveries.map((d) => d.subscriptionId),
    [watcher.id],
  );

  // Still failing a minute later: no new event.
  const later = new Date(now.getTime() + 60_000);
  assert.deepEqual(
    (await checkWebhookHealth(t.db, later)).filter((c) => c.id === e.id),
    [],
  );
  // The backend is fixed: successes bring the rate under the threshold.
  await calls(tenant, e.id, Array(6).fill(true), later);
  const recovered = await checkWebhookHealth(t.db, new Date(later.getTime() + 1000));
  assert.deepEqual(
    recovered.filter((c) => c.id === e.id),
    [{ kind: "fulfillment", id: e.id, to: "recovered" }],
  );
  assert.equal((await t.db.fulfillmentEndpoint.findUniqueOrThrow({ where: { id: e.id } })).degradedSince, null);
  assert.equal((await eventsOf(tenant.tenantId, "endpoint.recovered")).length, 1);
  await checkWebhookHealth(t.db, new Date(later.getTime() + 2000));
  assert.equal((await eventsOf(tenant.tenantId, "endpoint.recovered")).length, 1, "once");
});

test("under the minimum attempts or the threshold nothing changes; the tenant's settings apply", async () => {
  const strict = await tenantWith({ failureRate: 0.2, minAttempts: 3 });
  const lax = await tenantWith();
  const now = new Date();
  const a = await endpoint(strict.tenantId, "a");
  const b = await endpoint(lax.tenantId, "b");
  const few = await endpoint(lax.tenantId, "few");
  // 1 of 4 failed: over the strict tenant's 0.2, under the default 0.5.
  for (const [tenant, e] of [
    [strict, a],
    [lax, b],
  ] as const)
    await calls(tenant, e.id, [true, true, true, false], minutesAgo(now, 1));
  // All failed, but 9 attempts: under the default minimum of 10.
  await calls(lax, few.id, Array(9).fill(false), minutesAgo(now, 1));
  const changes = await checkWebhookHealth(t.db, now);
  assert.deepEqual(
    changes.filter((c) => [a.id, b.id, few.id].includes(c.id)).map((c) => c.id),
    [a.id],
  );
});

test("two workers checking at once store the change and emit its event once", async () => {
  const tenant = await tenantWith();
  const e = await endpoint(tenant.tenantId);
  await subscription(tenant.tenantId, "/watcher");
  const now = new Date();
  await calls(tenant, e.id, Array(12).fill(false), minutesAgo(now, 2));
  const results = await Promise.all([checkWebhookHealth(t.db, now), checkWebhookHealth(t.db, now)]);
  assert.equal(results.flat().filter((c) => c.id === e.id).length, 1);
  assert.equal((await eventsOf(tenant.tenantId, "endpoint.degraded")).length, 1);
});

test("a subscription's own degraded and recovered events go to the others, never to itself", async () => {
  const tenant = await tenantWith();
  const failing = await subscription(tenant.tenantId, "/failing", ["*"]);
  const other = await subscription(tenant.tenantId, "/other", ["*"]);
  const now = new Date();
  await attempts(failing.id, tenant.tenantId, Array(10).fill(false), minutesAgo(now, 3));
  const changes = await checkWebhookHealth(t.db, now);
  assert.deepEqual(
    changes.filter((c) => c.id === failing.id),
    [{ kind: "subscription", id: failing.id, to: "degraded" }],
  );
  const [degraded] = await eventsOf(tenant.tenantId, "endpoint.degraded");
  assert.equal((degraded!.data as { subscriptionId: string }).subscriptionId, failing.id);
  assert.deepEqual(
    degraded!.deliveries.map((d) => d.subscriptionId),
    [other.id],
  );

  await attempts(failing.id, tenant.tenantId, Array(11).fill(true), now);
  await checkWebhookHealth(t.db, new Date(now.getTime() + 1000));
  const [recovered] = await eventsOf(tenant.tenantId, "endpoint.recovered");
  assert.deepEqual(
    recovered!.deliveries.map((d) => d.subscriptionId),
    [other.id],
  );
  // Stored as recovered.
  assert.equal((await t.db.eventSubscription.findUniqueOrThrow({ where: { id: failing.id } })).degradedSince, null);
});
