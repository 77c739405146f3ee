import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { cancelScheduled, handOverDue, scheduleNotification, type ScheduleInput } from "@cb/conversation";
import { prismaSql, transaction } from "@cb/db";
import { startFixture, type Fixture } from "./scheduled-fixture.ts";

// Scheduled notifications wait in "Notification" until they are due within two minutes; the
// minutely hand-over adds their jobs (graphile-worker's fetch slows with every future job it holds).
let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.stop());

const MINUTE = 60_000;
const at = (base: Date, minutes: number) => new Date(base.getTime() + minutes * MINUTE);
const jobOf = async (id: string) => (await f.jobs()).filter((j) => j.notificationId === id);
const remind = (tenantId: string, contactId: string, dueAt: Date, extra: Partial<ScheduleInput> = {}) =>
  transaction(f.t.pool, (sql) =>
    scheduleNotification(
      sql,
      {
        tenantId,
        kind: "reminder",
        dueAt,
        contactId,
        content: { message: { text: "Table at 8" }, channelOrder: ["telegram"] },
        ...extra,
      },
      f.clock.now,
    ),
  );
const cancelledEvents = async (tenantId: string) =>
  (
    await f.t.db.event.findMany({ where: { tenantId, type: "notification.cancelled" }, orderBy: { createdAt: "asc" } })
  ).map((e) => e.data);

test("only what is due within two minutes is in the job table; the hand-over moves the rest once, however often and however many run it", async () => {
  const s = await f.shop();
  const c = await f.contact(s.tenantId, "h-1", s.telegram, "9101");
  const now = new Date("2099-05-01T10:00:00Z");
  f.clock.now = now;
  const near = await remind(s.tenantId, c.id, at(now, 1), { idempotencyKey: "near" });
  const soon = await remind(s.tenantId, c.id, at(now, 3), { idempotencyKey: "soon" });
  const far = await remind(s.tenantId, c.id, at(now, 60 * 24 * 30), { idempotencyKey: "far" });
  assert.deepEqual(
    (await jobOf(near.id)).map((j) => [j.key, j.run_at.toISOString()]),
    [[`scheduled:${near.id}`, at(now, 1).toISOString()]],
    "due within two minutes: its job is added with it",
  );
  assert.deepEqual([await jobOf(soon.id), await jobOf(far.id)], [[], []], "the others wait in Notification");

  // Several workers at once (the crontab keeps one a minute, but a slow run can meet the next).
  const later = at(now, 1.5);
  const moved = await Promise.all([1, 2, 3].map(() => handOverDue(f.t.pool, later)));
  assert.equal(
    moved.reduce((a, b) => a + b, 0),
    1,
    "handed over once: the row is marked in the statement that adds its job",
  );
  assert.equal(await handOverDue(f.t.pool, later), 0, "a second run finds nothing");
  assert.deepEqual(
    (await jobOf(soon.id)).map((j) => [j.key, j.run_at.toISOString()]),
    [[`scheduled:${soon.id}`, at(now, 3).toISOString()]],
  );
  assert.deepEqual(await jobOf(far.id), [], "a month ahead: still waiting");
  const rows = await f.t.db.notification.findMany({
    where: { id: { in: [soon.id, far.id] } },
    orderBy: { dueAt: "asc" },
  });
  assert.deepEqual(
    rows.map((r) => [r.status, r.enqueuedAt !== null]),
    [
      ["scheduled", true],
      ["scheduled", false],
    ],
  );
});

test("the hand-over goes on batch after batch until nothing due is left", async () => {
  const s = await f.shop();
  const c = await f.contact(s.tenantId, "h-2", s.telegram, "9102");
  const now = new Date("2099-05-02T10:00:00Z");
  f.clock.now = now;
  const ids = [];
  for (let i = 0; i < 5; i++)
    ids.push((await remind(s.tenantId, c.id, at(now, 10 + i), { idempotencyKey: `b${i}` })).id);
  assert.equal(await handOverDue(f.t.pool, at(now, 20), { batch: 2 }), 5);
  for (const id of ids) assert.equal((await jobOf(id)).length, 1);
});

test("cancelling works before and after the hand-over, and announces notification.cancelled", async () => {
  const s = await f.shop();
  const c = await f.contact(s.tenantId, "h-3", s.telegram, "9103");
  const now = new Date("2099-05-03T10:00:00Z");
  f.clock.now = now;
  const waiting = await remind(s.tenantId, c.id, at(now, 60), { idempotencyKey: "w" });
  const handed = await remind(s.tenantId, c.id, at(now, 61), { idempotencyKey: "h" });
  await handOverDue(f.t.pool, at(now, 58.5));
  assert.deepEqual([(await jobOf(waiting.id)).length, (await jobOf(handed.id)).length], [1, 0]);
  const cancel = (id: string) =>
    f.t.db.$transaction((tx) => cancelScheduled(prismaSql(tx), [id], "cancelled through the API"));
  assert.deepEqual(await cancel(waiting.id), [waiting.id]);
  assert.deepEqual(await cancel(handed.id), [handed.id]);
  assert.deepEqual(await jobOf(waiting.id), [], "a handed-over one's job is removed");
  await handOverDue(f.t.pool, at(now, 61));
  assert.deepEqual(await jobOf(handed.id), [], "one cancelled before the hand-over is never handed over");
  assert.deepEqual(await cancel(handed.id), [], "cancelled once");
  assert.deepEqual(await cancelledEvents(s.tenantId), [
    { notificationId: waiting.id, kind: "reminder", status: "cancelled", reason: "cancelled through the API" },
    { notificationId: handed.id, kind: "reminder", status: "cancelled", reason: "cancelled through the API" },
  ]);
});

test("replace before and after the hand-over: the replaced one's job goes, the latest's comes when it is near", async () => {
  const s = await f.shop();
  await f.rule(s.tenantId, { delay: "PT1H", replace: true });
  await f.contact(s.tenantId, "h-4", s.telegram, "9104");
  const first = new Date("2099-05-04T10:00:00Z");
  await f.fire(s.tenantId, "cart.updated", "cart-h", { customerId: "h-4" }, first);
  const [a] = await f.t.db.notification.findMany({ where: { tenantId: s.tenantId } });
  f.clock.now = at(first, 59);
  await f.handOver();
  const jobsOf = async (ids: string[]) =>
    (await f.jobs())
      .filter((j) => ids.includes(j.notificationId))
      .map((j) => [j.key, j.notificationId, j.run_at.toISOString()]);
  assert.deepEqual(await jobsOf([a!.id]), [[`scheduled:${a!.id}`, a!.id, at(first, 60).toISOString()]]);
  // The cart changes a minute before the nudge: the nudge is replaced, due an hour later.
  await f.fire(s.tenantId, "cart.updated", "cart-h", { customerId: "h-4" }, at(first, 59));
  const rows = await f.t.db.notification.findMany({ where: { tenantId: s.tenantId }, orderBy: { createdAt: "asc" } });
  assert.deepEqual(
    rows.map((n) => n.status),
    ["cancelled", "scheduled"],
  );
  assert.deepEqual(await jobsOf([a!.id, rows[1]!.id]), [], "the replaced one's job is gone; the latest waits");
  f.clock.now = at(first, 118);
  await f.handOver();
  assert.deepEqual(await jobsOf([a!.id, rows[1]!.id]), [
    [`scheduled:${rows[1]!.id}`, rows[1]!.id, at(first, 119).toISOString()],
  ]);
  const [event] = await cancelledEvents(s.tenantId);
  const eventId = (await f.t.db.orderEvent.findUniqueOrThrow({ where: { id: rows[1]!.orderEventId! } })).eventId;
  assert.deepEqual(event, {
    notificationId: a!.id,
    kind: "rule",
    eventId: (await f.t.db.orderEvent.findUniqueOrThrow({ where: { id: a!.orderEventId! } })).eventId,
    rule: "nudge",
    status: "cancelled",
    reason: `replaced by cart.updated ${eventId}`,
  });
});

test("a scheduled job that fails its last attempt fails the notification with the error, announced", async () => {
  const s = await f.shop();
  const c = await f.contact(s.tenantId, "h-5", s.telegram, "9105");
  f.broken.add(s.telegram);
  f.clock.now = new Date("2099-05-05T10:00:00Z");
  const n = await remind(s.tenantId, c.id, f.clock.now, { idempotencyKey: "broken" });
  const key = `scheduled:${n.id}`;
  const job = async () =>
    (
      await f.t.pool.query<{ attempts: number; locked: boolean }>(
        `SELECT attempts, locked_at IS NOT NULL AS locked FROM graphile_worker._private_jobs WHERE key = $1`,
        [key],
      )
    ).rows[0];

  // A failed attempt that is not the last: tried again later, the notification stays claimed.
  await f.t.pool.query(`UPDATE graphile_worker._private_jobs SET run_at = now() WHERE key = $1`, [key]);
  await waitFor(async () => {
    const j = await job();
    return j?.attempts === 1 && !j.locked;
  });
  assert.equal((await f.t.db.notification.findUniqueOrThrow({ where: { id: n.id } })).status, "queued");
  // The last one (the job's max_attempts is 10).
  await f.t.pool.query(`UPDATE graphile_worker._private_jobs SET attempts = 9, run_at = now() WHERE key = $1`, [key]);
  await waitFor(async () => (await job()) === undefined);
  const failed = await f.t.db.notification.findUniqueOrThrow({ where: { id: n.id } });
  assert.deepEqual([failed.status, failed.reason], ["failed", "gave up after 10 attempt(s): sender unavailable"]);
  const events = await f.t.db.event.findMany({ where: { tenantId: s.tenantId } });
  assert.deepEqual(
    events.map((e) => [e.type, (e.data as { reason?: string }).reason]),
    [["notification.failed", "gave up after 10 attempt(s): sender unavailable"]],
  );
  f.broken.delete(s.telegram);
});

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await sleep(30);
  }
}

test("quiet hours that end within two minutes: the notification's job is added again at once for their end", async () => {
  const s = await f.shop({ notificationSettings: { quietHours: { start: "22:00", end: "07:00" } } });
  const c = await f.contact(s.tenantId, "h-6", s.telegram, "9106");
  f.clock.now = new Date("2099-05-06T06:59:00Z");
  const n = await remind(s.tenantId, c.id, f.clock.now, { idempotencyKey: "quiet" });
  await f.runDue(n.id);
  const row = await f.t.db.notification.findUniqueOrThrow({ where: { id: n.id } });
  assert.deepEqual([row.status, row.dueAt?.toISOString()], ["scheduled", "2099-05-06T07:00:00.000Z"]);
  assert.deepEqual(
    (await jobOf(n.id)).map((j) => j.run_at.toISOString()),
    ["2099-05-06T07:00:00.000Z"],
    "no need to wait for the next hand-over",
  );
});
