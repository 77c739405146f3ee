import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { SUBJECT_QUEUE_PREFIX, storeEvent, type IncomingEvent } from "../src/store.ts";
import { notifyJobs } from "./jobs.ts";

let t: TestDatabase;
let tenantId: string;
let otherTenantId: string;

before(async () => {
  t = await createTestDatabase();
  tenantId = (await t.db.tenant.create({ data: { name: "Shop" } })).id;
  otherTenantId = (await t.db.tenant.create({ data: { name: "Other shop" } })).id;
});
after(() => t.drop());

let n = 0;
const event = (subject: string, at: string, extra: Partial<IncomingEvent> = {}): IncomingEvent => ({
  tenantId,
  source: "webhook",
  eventId: `evt-${++n}`,
  type: "order.shipped",
  subject,
  occurredAt: new Date(at),
  data: { orderId: subject, n },
  ...extra,
});

/** The notify jobs queued for an event (by its eventId), with their queue. */
async function jobsOf(e: IncomingEvent) {
  const row = await t.db.orderEvent.findUnique({
    where: { tenantId_source_eventId: { tenantId: e.tenantId, source: "webhook", eventId: e.eventId } },
  });
  return row ? notifyJobs(t.pool, row.id) : [];
}
const state = (subject: string, tenant = tenantId) =>
  t.db.orderState.findUnique({ where: { tenantId_subject: { tenantId: tenant, subject } } });

test("a new order's event is stored as current, becomes the order's state and queues its notification in the order's queue", async () => {
  const e = event("A-1", "2026-11-24T10:00:00Z", { sequence: 1n });
  assert.equal(await storeEvent(t.db, e), "stored");
  const row = await t.db.orderEvent.findUniqueOrThrow({
    where: { tenantId_source_eventId: { tenantId, source: "webhook", eventId: e.eventId } },
  });
  assert.deepEqual(
    [row.type, row.subject, row.occurredAt.toISOString(), row.sequence, row.data, row.current],
    ["order.shipped", "A-1", "2026-11-24T10:00:00.000Z", 1n, e.data, true],
  );
  const s = await state("A-1");
  assert.deepEqual(
    [s?.lastOccurredAt.toISOString(), s?.lastSequence, s?.lastEventId],
    ["2026-11-24T10:00:00.000Z", 1n, e.eventId],
  );
  const jobs = await jobsOf(e);
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0]!.queue_name, `${SUBJECT_QUEUE_PREFIX}${tenantId}:A-1`);
  assert.equal(jobs[0]!.max_attempts, 10);
});

test("a repeated event id is a duplicate: nothing stored, changed or queued, even with other content", async () => {
  const e = event("D-1", "2026-11-24T10:00:00Z");
  assert.equal(await storeEvent(t.db, e), "stored");
  const again = { ...e, occurredAt: new Date("2026-11-24T11:00:00Z"), data: { orderId: "D-1", changed: true } };
  assert.equal(await storeEvent(t.db, again), "duplicate");
  assert.equal(await t.db.orderEvent.count({ where: { tenantId, subject: "D-1" } }), 1);
  assert.equal((await state("D-1"))?.lastOccurredAt.toISOString(), "2026-11-24T10:00:00.000Z");
  assert.equal((await jobsOf(e)).length, 1);
  // The same id from another tenant is another event.
  assert.equal(await storeEvent(t.db, { ...e, tenantId: otherTenantId }), "stored");
});

test("with sequences on both sides the sequence orders events, whatever their times", async () => {
  assert.equal(await storeEvent(t.db, event("S-1", "2026-11-24T10:00:00Z", { sequence: 5n })), "stored");
  const older = event("S-1", "2026-11-24T12:00:00Z", { sequence: 4n });
  assert.equal(await storeEvent(t.db, older), "stale", "a lower sequence is older even when sent later");
  const same = event("S-1", "2026-11-24T12:00:00Z", { sequence: 5n });
  assert.equal(await storeEvent(t.db, same), "stale", "the same sequence again is not newer");
  for (const e of [older, same]) {
    const row = await t.db.orderEvent.findUniqueOrThrow({
      where: { tenantId_source_eventId: { tenantId, source: "webhook", eventId: e.eventId } },
    });
    assert.equal(row.current, false, "kept for the record, not current");
    assert.deepEqual(await jobsOf(e), [], "never notified");
  }
  assert.equal((await state("S-1"))?.lastSequence, 5n, "the state keeps the newest");
  const newer = event("S-1", "2026-11-24T09:00:00Z", { sequence: 6n });
  assert.equal(await storeEvent(t.db, newer), "stored", "a higher sequence is newer even with an earlier time");
  assert.equal((await jobsOf(newer)).length, 1);
  const s = await state("S-1");
  assert.deepEqual([s?.lastSequence, s?.lastEventId], [6n, newer.eventId]);
});

test("without a sequence on both sides, the event's own time orders them (the same time counts as newer)", async () => {
  assert.equal(await storeEvent(t.db, event("T-1", "2026-11-24T10:00:00Z", { sequence: 9n })), "stored");
  assert.equal(
    await storeEvent(t.db, event("T-1", "2026-11-24T09:59:59Z")),
    "stale",
    "no sequence on the new one: by time",
  );
  const sameTime = event("T-1", "2026-11-24T10:00:00Z");
  assert.equal(await storeEvent(t.db, sameTime), "stored");
  assert.equal((await state("T-1"))?.lastSequence, null, "the newest had no sequence");
  // The state has no sequence now: a sequenced event is ordered by time too.
  assert.equal(await storeEvent(t.db, event("T-1", "2026-11-24T09:00:00Z", { sequence: 100n })), "stale");
  assert.equal(await storeEvent(t.db, event("T-1", "2026-11-24T11:00:00Z", { sequence: 1n })), "stored");
});

test("orders are ordered independently, per tenant", async () => {
  assert.equal(await storeEvent(t.db, event("I-1", "2026-11-24T10:00:00Z")), "stored");
  assert.equal(await storeEvent(t.db, event("I-2", "2026-11-24T08:00:00Z")), "stored", "another order");
  assert.equal(
    await storeEvent(t.db, { ...event("I-1", "2026-11-24T08:00:00Z"), tenantId: otherTenantId }),
    "stored",
    "the same order id at another tenant",
  );
  assert.equal((await state("I-1"))?.lastOccurredAt.toISOString(), "2026-11-24T10:00:00.000Z");
  assert.equal((await state("I-1", otherTenantId))?.lastOccurredAt.toISOString(), "2026-11-24T08:00:00.000Z");
});
