import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startFixture, type Fixture } from "./scheduled-fixture.ts";

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.stop());

const notifications = (tenantId: string) =>
  f.t.db.notification.findMany({ where: { tenantId }, orderBy: { createdAt: "asc" } });
const sentTo = (accountId: string) => f.sent.filter((s) => s.accountId === accountId).map((s) => s.reply);
const eventTypes = async (tenantId: string) =>
  (await f.t.db.event.findMany({ where: { tenantId }, orderBy: { createdAt: "asc" } })).map((e) => e.type);

test("a delayed rule schedules its notification as a keyed job due after the delay, and sends it when due", async () => {
  const s = await f.shop();
  const r = await f.rule(s.tenantId, { delay: "PT1H" });
  const c = await f.contact(s.tenantId, "C-1", s.telegram, "7001");
  const occurredAt = new Date("2099-03-01T10:00:00Z");
  f.clock.now = occurredAt;
  const orderEventId = await f.fire(s.tenantId, "cart.updated", "cart-1", { customerId: "C-1" }, occurredAt);

  const [n, ...more] = await notifications(s.tenantId);
  assert.equal(more.length, 0);
  assert.deepEqual(
    [n!.kind, n!.status, n!.dueAt?.toISOString(), n!.orderEventId, n!.ruleId, n!.contactId, n!.subject, n!.contactKey],
    ["rule", "scheduled", "2099-03-01T11:00:00.000Z", orderEventId, r.id, c.id, "cart-1", "customerId:C-1"],
  );
  const jobsOf = async () =>
    (await f.jobs()).filter((j) => j.notificationId === n!.id).map((j) => [j.key, j.run_at.toISOString()]);
  assert.deepEqual(await jobsOf(), [], "an hour ahead it waits in Notification, not in the job table");
  f.clock.now = new Date("2099-03-01T10:57:00Z");
  await f.handOver();
  assert.deepEqual(await jobsOf(), [], "three minutes ahead: still not handed over");
  f.clock.now = new Date("2099-03-01T10:58:30Z");
  await f.handOver();
  await f.handOver();
  assert.deepEqual(
    await jobsOf(),
    [[`scheduled:${n!.id}`, "2099-03-01T11:00:00.000Z"]],
    "within two minutes: one job, keyed by the notification, run at the due time (handed over once)",
  );
  assert.deepEqual(sentTo(s.telegram), [], "nothing sent before it is due");

  f.clock.now = new Date("2099-03-01T11:00:00Z");
  await f.runDue(n!.id);
  assert.deepEqual(sentTo(s.telegram), [{ type: "text", text: "Your cart cart-1 is waiting" }]);
  const [done] = await notifications(s.tenantId);
  assert.deepEqual([done!.status, done!.reason, done!.channelAccountId], ["sent", null, s.telegram]);
  assert.deepEqual(await eventTypes(s.tenantId), ["notification.sent"]);
  const [announced] = await f.t.db.event.findMany({ where: { tenantId: s.tenantId } });
  const eventId = (await f.t.db.orderEvent.findUniqueOrThrow({ where: { id: orderEventId } })).eventId;
  assert.deepEqual(announced!.data, {
    notificationId: n!.id,
    kind: "rule",
    eventId,
    rule: "nudge",
    status: "sent",
    contactId: c.id,
    channelAccountId: s.telegram,
    messageId: done!.messageId,
  });
  assert.deepEqual(
    (await f.jobs()).filter((j) => j.notificationId === n!.id),
    [],
  );

  // The job run again (a retry, a duplicate): nothing more.
  await f.runDue(n!.id);
  await f.t.pool.query(
    `SELECT graphile_worker.add_job('send-scheduled', json_build_object('notificationId', $1::text))`,
    [n!.id],
  );
  await f.settle();
  assert.equal(sentTo(s.telegram).length, 1, "sent once");
  assert.deepEqual(await eventTypes(s.tenantId), ["notification.sent"], "announced once");
  assert.equal((await notifications(s.tenantId))[0]!.status, "sent");
});

test("a delay from a time in the event: `at` a JSONPath plus an offset (two hours before a reservation)", async () => {
  const s = await f.shop();
  await f.rule(s.tenantId, {
    eventType: "reservation.confirmed",
    delay: { at: "$.data.reservationAt", offset: "-PT2H" },
    template: { text: "See you at {{data.time}}" },
  });
  await f.contact(s.tenantId, "C-2", s.telegram, "7002");
  await f.fire(
    s.tenantId,
    "reservation.confirmed",
    "R-1",
    { customerId: "C-2", reservationAt: "2099-03-02T20:00:00+01:00", time: "20:00" },
    new Date("2099-03-01T09:00:00Z"),
  );
  const [n] = await notifications(s.tenantId);
  assert.deepEqual([n!.status, n!.dueAt?.toISOString()], ["scheduled", "2099-03-02T17:00:00.000Z"]);

  // No time at the path: skipped with the reason, announced.
  await f.fire(s.tenantId, "reservation.confirmed", "R-2", { customerId: "C-2" }, new Date("2099-03-01T09:00:00Z"));
  const [, missing] = await notifications(s.tenantId);
  assert.deepEqual([missing!.status, missing!.reason], ["skipped", "no time at $.data.reservationAt"]);
  assert.deepEqual(await eventTypes(s.tenantId), ["notification.skipped"]);
});

test("cancelOn: an order.created cancels the pending cart nudge of the same contact (job removed), not others'", async () => {
  const s = await f.shop();
  await f.rule(s.tenantId, { delay: "PT1H", cancelOn: [{ eventType: "order.created", match: "contact" }] });
  await f.contact(s.tenantId, "C-3", s.telegram, "7003");
  await f.contact(s.tenantId, "C-4", s.telegram, "7004");
  const at = new Date("2099-03-03T10:00:00Z");
  await f.fire(s.tenantId, "cart.updated", "cart-3", { customerId: "C-3" }, at);
  await f.fire(s.tenantId, "cart.updated", "cart-4", { customerId: "C-4" }, at);
  const [mine, theirs] = await notifications(s.tenantId);
  f.clock.now = new Date("2099-03-03T10:59:00Z");
  await f.handOver();

  const orderEvent = await f.fire(s.tenantId, "order.created", "order-9", { customerId: "C-3" }, at);
  const eventId = (await f.t.db.orderEvent.findUniqueOrThrow({ where: { id: orderEvent } })).eventId;
  const [cancelled, kept] = await notifications(s.tenantId);
  assert.deepEqual(
    [cancelled!.id, cancelled!.status, cancelled!.reason],
    [mine!.id, "cancelled", `cancelled by order.created ${eventId}`],
  );
  assert.deepEqual([kept!.id, kept!.status], [theirs!.id, "scheduled"]);
  assert.deepEqual(
    (await f.t.db.event.findMany({ where: { tenantId: s.tenantId } })).map((e) => [e.type, e.data]),
    [
      [
        "notification.cancelled",
        {
          notificationId: mine!.id,
          kind: "rule",
          eventId: (await f.t.db.orderEvent.findUniqueOrThrow({ where: { id: mine!.orderEventId! } })).eventId,
          rule: "nudge",
          status: "cancelled",
          reason: `cancelled by order.created ${eventId}`,
        },
      ],
    ],
  );
  assert.deepEqual(
    (await f.jobs()).filter((j) => [mine!.id, theirs!.id].includes(j.notificationId)).map((j) => j.notificationId),
    [theirs!.id],
    "the cancelled one's job is gone",
  );
  // A job that still ran for it (fetched before the cancel) sends nothing.
  await f.t.pool.query(
    `SELECT graphile_worker.add_job('send-scheduled', json_build_object('notificationId', $1::text))`,
    [mine!.id],
  );
  f.clock.now = new Date("2099-03-03T11:00:00Z");
  await f.runDue(theirs!.id);
  assert.equal((await f.t.db.notification.findUniqueOrThrow({ where: { id: mine!.id } })).status, "cancelled");
  assert.deepEqual(
    f.sent.filter((m) => m.to.externalId === "7003" || m.to.externalId === "7004").map((m) => m.to.externalId),
    ["7004"],
  );
});

test("cancelOn by subject cancels only the same subject's pending notification", async () => {
  const s = await f.shop();
  await f.rule(s.tenantId, {
    eventType: "order.delivered",
    delay: "P3D",
    template: { text: "How was order {{subject}}?" },
    cancelOn: [{ eventType: "order.returned", match: "subject" }],
  });
  await f.contact(s.tenantId, "C-5", s.telegram, "7005");
  const at = new Date("2099-03-04T10:00:00Z");
  await f.fire(s.tenantId, "order.delivered", "O-1", { customerId: "C-5" }, at);
  await f.fire(s.tenantId, "order.delivered", "O-2", { customerId: "C-5" }, at);
  await f.fire(s.tenantId, "order.returned", "O-1", { customerId: "C-5" }, at);
  const rows = await notifications(s.tenantId);
  assert.deepEqual(
    rows.map((n) => [n.subject, n.status]),
    [
      ["O-1", "cancelled"],
      ["O-2", "scheduled"],
    ],
  );
});

test("replace: a later event for the same subject replaces the pending notification; only the latest gets a job", async () => {
  const s = await f.shop();
  await f.rule(s.tenantId, { delay: "PT1H", replace: true });
  await f.contact(s.tenantId, "C-6", s.telegram, "7006");
  await f.fire(s.tenantId, "cart.updated", "cart-6", { customerId: "C-6" }, new Date("2099-03-05T10:00:00Z"));
  const second = await f.fire(
    s.tenantId,
    "cart.updated",
    "cart-6",
    { customerId: "C-6" },
    new Date("2099-03-05T10:20:00Z"),
  );
  await f.fire(s.tenantId, "cart.updated", "cart-7", { customerId: "C-6" }, new Date("2099-03-05T10:30:00Z"));
  const secondEventId = (await f.t.db.orderEvent.findUniqueOrThrow({ where: { id: second } })).eventId;
  const [first, latest, other] = await notifications(s.tenantId);
  f.clock.now = new Date("2099-03-05T11:19:00Z");
  await f.handOver();
  assert.deepEqual([first!.status, first!.reason], ["cancelled", `replaced by cart.updated ${secondEventId}`]);
  assert.deepEqual([latest!.status, latest!.dueAt?.toISOString()], ["scheduled", "2099-03-05T11:20:00.000Z"]);
  assert.equal(other!.status, "scheduled", "another subject is not replaced");
  const jobs = (await f.jobs()).filter((j) => [first!.id, latest!.id].includes(j.notificationId));
  assert.deepEqual(
    jobs.map((j) => [j.key, j.notificationId, j.run_at.toISOString()]),
    [[`scheduled:${latest!.id}`, latest!.id, "2099-03-05T11:20:00.000Z"]],
    "one job for the subject, the latest's, keyed by it",
  );
});

test("pending notifications survive a restart: the job is in PostgreSQL and runs on the next worker", async () => {
  const s = await f.shop();
  await f.rule(s.tenantId, { delay: "PT10M" });
  await f.contact(s.tenantId, "C-7", s.telegram, "7007");
  await f.fire(s.tenantId, "cart.updated", "cart-8", { customerId: "C-7" }, new Date("2099-03-06T10:00:00Z"));
  await f.restart();
  const [n] = await notifications(s.tenantId);
  f.clock.now = new Date("2099-03-06T10:10:00Z");
  await f.runDue(n!.id);
  assert.equal((await notifications(s.tenantId))[0]!.status, "sent");
});
