import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { prismaSql } from "@cb/db";
import { ruleDueAt } from "../src/delay.ts";
import type { EventDocument } from "../src/rules.ts";
import { scheduleNotification } from "@cb/conversation";
import { startFixture, type Fixture } from "./scheduled-fixture.ts";

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.stop());

const event = (occurredAt: string, data: Record<string, unknown> = {}): EventDocument => ({
  id: "e-1",
  type: "order.delivered",
  subject: "O-1",
  occurredAt,
  data,
});
const iso = (d: Date | { error: string }) => (d instanceof Date ? d.toISOString() : d.error);
const notifications = (tenantId: string) =>
  f.t.db.notification.findMany({ where: { tenantId }, orderBy: { createdAt: "asc" } });
const eventsOf = async (tenantId: string) =>
  (await f.t.db.event.findMany({ where: { tenantId }, orderBy: { createdAt: "asc" } })).map((e) => ({
    type: e.type,
    reason: (e.data as { reason?: string }).reason,
  }));

test("across a DST change in Europe/Berlin: P1D keeps the local time (23 or 25 hours), PT24H is 24 hours", () => {
  // 28 March 2027, 02:00 → 03:00 (UTC+1 → UTC+2); 31 October 2027, 03:00 → 02:00.
  const spring = event("2027-03-27T09:00:00Z"); // 10:00 in Berlin
  assert.equal(iso(ruleDueAt("P1D", spring, "Europe/Berlin")), "2027-03-28T08:00:00.000Z", "10:00 the next day");
  assert.equal(iso(ruleDueAt("PT24H", spring, "Europe/Berlin")), "2027-03-28T09:00:00.000Z", "11:00 the next day");
  const autumn = event("2027-10-30T08:00:00Z"); // 10:00 in Berlin
  assert.equal(iso(ruleDueAt("P1D", autumn, "Europe/Berlin")), "2027-10-31T09:00:00.000Z", "25 hours later");
  assert.equal(iso(ruleDueAt("PT24H", autumn, "Europe/Berlin")), "2027-10-31T08:00:00.000Z");
  assert.equal(iso(ruleDueAt("P1D", spring, "UTC")), "2027-03-28T09:00:00.000Z", "the zone decides");
  // A time in the event keeps its own offset; the offset is applied to it.
  assert.equal(
    iso(
      ruleDueAt(
        { at: "$.data.at", offset: "-P1D" },
        event("2027-03-01T00:00:00Z", { at: "2027-03-28T20:00:00+02:00" }),
        "Europe/Berlin",
      ),
    ),
    "2027-03-27T19:00:00.000Z",
    "a day before 20:00 local is 20:00 local, across the change",
  );
  assert.equal(
    iso(ruleDueAt({ at: "$.data.at" }, event("2027-03-01T00:00:00Z", { at: 1806000000000 }), "UTC")),
    new Date(1806000000000).toISOString(),
    "milliseconds",
  );
  assert.equal(
    iso(ruleDueAt({ at: "$.data.at" }, event("2027-03-01T00:00:00Z", { at: "soon" }), "UTC")),
    "no time at $.data.at",
  );
  assert.equal(iso(ruleDueAt("2h", spring, "UTC")), "the rule's delay 2h is not an ISO 8601 duration");
});

test("a delay that lands in quiet hours (the contact's time zone over the tenant's) is due at their end", async () => {
  const s = await f.shop({
    timezone: "Europe/Berlin",
    notificationSettings: { quietHours: { start: "22:00", end: "07:00" } },
  });
  await f.rule(s.tenantId, { delay: "PT1H" });
  await f.contact(s.tenantId, "berlin", s.telegram, "8001");
  await f.contact(s.tenantId, "tokyo", s.telegram, "8002", "Asia/Tokyo");
  // 21:30 in Berlin, 05:30 in Tokyo: due 22:30 Berlin (quiet), 06:30 Tokyo (quiet).
  const at = new Date("2027-01-10T20:30:00Z");
  await f.fire(s.tenantId, "cart.updated", "cart-b", { customerId: "berlin" }, at);
  await f.fire(s.tenantId, "cart.updated", "cart-t", { customerId: "tokyo" }, at);
  const [berlin, tokyo] = await notifications(s.tenantId);
  assert.deepEqual(
    [berlin!.dueAt?.toISOString(), berlin!.reason],
    ["2027-01-11T06:00:00.000Z", "quiet hours until 2027-01-11T06:00:00.000Z"],
  );
  assert.deepEqual(
    [tokyo!.dueAt?.toISOString(), tokyo!.reason],
    ["2027-01-10T22:00:00.000Z", "quiet hours until 2027-01-10T22:00:00.000Z"],
  );
  f.clock.now = new Date("2027-01-11T05:59:00Z");
  await f.handOver();
  const runAt = new Map((await f.jobs()).map((j) => [j.notificationId, j.run_at.toISOString()]));
  assert.equal(runAt.get(berlin!.id), "2027-01-11T06:00:00.000Z", "the job runs then");
});

test("due inside quiet hours all the same (set since): moved to their end, then sent", async () => {
  const s = await f.shop({ timezone: "Europe/Berlin" });
  await f.rule(s.tenantId, { delay: "PT1H" });
  await f.contact(s.tenantId, "late", s.telegram, "8003");
  await f.fire(s.tenantId, "cart.updated", "cart-q", { customerId: "late" }, new Date("2027-01-12T22:00:00Z"));
  const [n] = await notifications(s.tenantId);
  assert.equal(n!.dueAt?.toISOString(), "2027-01-12T23:00:00.000Z", "no quiet hours yet");
  await f.t.db.tenant.update({
    where: { id: s.tenantId },
    data: { notificationSettings: { quietHours: { start: "22:00", end: "07:00" } } },
  });
  f.clock.now = new Date("2027-01-12T23:00:00Z"); // midnight in Berlin
  await f.runDue(n!.id);
  const held = (await notifications(s.tenantId))[0]!;
  assert.deepEqual(
    [held.status, held.dueAt?.toISOString(), held.reason],
    ["scheduled", "2027-01-13T06:00:00.000Z", "quiet hours until 2027-01-13T06:00:00.000Z"],
  );
  const jobsOf = async () =>
    (await f.jobs()).filter((j) => j.notificationId === n!.id).map((j) => j.run_at.toISOString());
  assert.deepEqual(await jobsOf(), [], "seven hours ahead it waits for the hand-over");
  f.clock.now = new Date("2027-01-13T05:58:30Z");
  await f.handOver();
  assert.deepEqual(await jobsOf(), ["2027-01-13T06:00:00.000Z"]);
  assert.equal(f.sent.filter((m) => m.to.externalId === "8003").length, 0);
  f.clock.now = new Date("2027-01-13T06:00:00Z");
  await f.runDue(n!.id);
  assert.equal((await notifications(s.tenantId))[0]!.status, "sent");
  assert.equal(f.sent.filter((m) => m.to.externalId === "8003").length, 1);
});

test("due while the system was down: sent when it is back, unless later than maxLateness (default 24 h): skipped too_late", async () => {
  const s = await f.shop();
  await f.rule(s.tenantId, { delay: "PT1H" });
  await f.contact(s.tenantId, "down", s.telegram, "8004");
  const occurred = new Date("2027-02-01T10:00:00Z");
  for (const subject of ["a", "b", "c"])
    await f.fire(s.tenantId, "cart.updated", subject, { customerId: "down" }, occurred);
  const [a, b, c] = await notifications(s.tenantId);
  // Back 23 hours after a's due time: sent.
  f.clock.now = new Date("2027-02-02T10:00:00Z");
  await f.runDue(a!.id);
  // 24 hours and a minute after: too late.
  f.clock.now = new Date("2027-02-02T11:01:00Z");
  await f.runDue(b!.id);
  // With the tenant's maxLateness at two days, the same is sent.
  await f.t.db.tenant.update({ where: { id: s.tenantId }, data: { notificationSettings: { maxLateness: "P2D" } } });
  await f.runDue(c!.id);
  const rows = await notifications(s.tenantId);
  assert.deepEqual(
    rows.map((n) => [n.status, n.reason]),
    [
      ["sent", null],
      ["skipped", "too_late: due at 2027-02-01T11:00:00.000Z"],
      ["sent", null],
    ],
  );
  assert.deepEqual(await eventsOf(s.tenantId), [
    { type: "notification.sent", reason: undefined },
    { type: "notification.skipped", reason: "too_late: due at 2027-02-01T11:00:00.000Z" },
    { type: "notification.sent", reason: undefined },
  ]);
});

test("reminders follow the channel rules: a WhatsApp template outside the 24-hour window, text inside; opted out: skipped", async () => {
  const s = await f.shop();
  const wa = await f.contact(s.tenantId, "wa", s.whatsapp, "491511");
  const out = await f.contact(s.tenantId, "out", s.telegram, "8005");
  await f.t.db.contact.update({ where: { id: out.id }, data: { optedOutAt: new Date() } });
  f.clock.now = new Date("2027-03-01T12:00:00Z");
  const remind = (contactId: string, key: string) =>
    f.t.db.$transaction((tx) =>
      scheduleNotification(prismaSql(tx), {
        tenantId: s.tenantId,
        kind: "reminder",
        dueAt: f.clock.now,
        contactId,
        idempotencyKey: key,
        content: {
          message: { text: "Table at 8", whatsapp: { template: "table", language: "en", parameters: ["8"] } },
          channelOrder: ["whatsapp", "telegram"],
        },
      }),
    );
  const outside = await remind(wa.id, "wa-1");
  await f.runDue(outside.id);
  await f.t.db.conversation.updateMany({
    where: { channelAccountId: s.whatsapp, externalId: "491511" },
    data: { lastInboundAt: new Date("2027-03-01T11:00:00Z") },
  });
  const inside = await remind(wa.id, "wa-2");
  await f.runDue(inside.id);
  const optedOut = await remind(out.id, "out-1");
  await f.runDue(optedOut.id);
  assert.deepEqual(
    f.sent.filter((m) => m.accountId === s.whatsapp).map((m) => m.reply),
    [
      {
        type: "template",
        name: "table",
        language: "en",
        components: [{ type: "body", parameters: [{ type: "text", text: "8" }] }],
      },
      { type: "text", text: "Table at 8" },
    ],
  );
  const rows = await notifications(s.tenantId);
  assert.deepEqual(
    rows.map((n) => [n.kind, n.status, n.reason]),
    [
      ["reminder", "sent", null],
      ["reminder", "sent", null],
      ["reminder", "skipped", "the contact opted out"],
    ],
  );
});
