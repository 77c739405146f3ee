import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { handOverDue } from "@cb/conversation";
import type { TestDatabase } from "@cb/db/testing";
import type { FastifyInstance } from "fastify";
import { startAdminServer, type AdminServer } from "./support.ts";

// Reminders (POST /v1/scheduled-messages), delayed rules' fields, and the notifications routes that
// list and cancel scheduled notifications, on the admin API alone (the worker's side is in
// packages/notifications/test).
let server: AdminServer;
let t: TestDatabase;
let app: FastifyInstance;
let keyA: string;
let keyB: string;
let tenantA: string;
let contactA: string;
let contactB: string;

before(async () => {
  server = await startAdminServer();
  ({ t, app } = server);
  ({ tenantId: tenantA, key: keyA } = await server.tenant("Acme"));
  const b = await server.tenant("Other");
  keyB = b.key;
  contactA = (await t.db.contact.create({ data: { tenantId: tenantA, customerId: "c-1", phone: "+4915112345678" } }))
    .id;
  contactB = (await t.db.contact.create({ data: { tenantId: b.tenantId, customerId: "c-1" } })).id;
});
after(() => server.close());

const call = (method: "GET" | "POST" | "PATCH", url: string, payload?: object, key = keyA) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });
const jobOf = async (jobKey: string) =>
  (
    await t.pool.query<{ run_at: Date; payload: { notificationId: string } }>(
      `SELECT run_at, payload FROM graphile_worker._private_jobs WHERE key = $1`,
      [jobKey],
    )
  ).rows;
let n = 0;
const reminder = (fields: object = {}) => ({
  contactId: contactA,
  after: "PT2H",
  message: { text: "Your table is at 8", whatsapp: { template: "table_reminder", language: "en", parameters: ["8"] } },
  idempotencyKey: `r-${++n}`,
  ...fields,
});

test("a reminder is 202 with the scheduled notification, due after `after`, its keyed job run then", async () => {
  const before = Date.now();
  const response = await call("POST", "/v1/scheduled-messages", reminder({ channelOrder: ["whatsapp", "telegram"] }));
  assert.equal(response.statusCode, 202, response.body);
  const body = response.json();
  assert.deepEqual(
    [body.kind, body.status, body.contactId, body.eventId, body.ruleId, body.reason],
    ["reminder", "scheduled", contactA, null, null, null],
  );
  const due = Date.parse(body.dueAt);
  assert.ok(due >= before + 2 * 3600_000 && due <= Date.now() + 2 * 3600_000, body.dueAt);
  const row = await t.db.notification.findUniqueOrThrow({ where: { id: body.id } });
  assert.deepEqual(row.content, {
    message: {
      text: "Your table is at 8",
      whatsapp: { template: "table_reminder", language: "en", parameters: ["8"] },
    },
    channelOrder: ["whatsapp", "telegram"],
  });
  assert.deepEqual(
    [row.enqueuedAt, await jobOf(row.jobKey!)],
    [null, []],
    "two hours ahead it waits in Notification for the hand-over",
  );
  await handOverDue(t.pool, new Date(due - 60_000));
  assert.deepEqual(
    (await jobOf(row.jobKey!)).map((j) => [j.run_at.toISOString(), j.payload.notificationId]),
    [[body.dueAt, body.id]],
    "a minute before it is due, its keyed job is there, run then",
  );
  const listed = (await call("GET", "/v1/notifications")).json().data;
  assert.deepEqual(
    listed.filter((x: { id: string }) => x.id === body.id),
    [body],
    "listed as scheduled",
  );
});

test("`at` a time with its offset; the contact found by phone in any notation; one idempotency key, one reminder", async () => {
  const payload = reminder({
    contactId: undefined,
    contact: { phone: "+49 151 12345678" },
    after: undefined,
    at: "2027-05-01T20:00:00+02:00",
  });
  const first = await call("POST", "/v1/scheduled-messages", payload);
  assert.equal(first.statusCode, 202, first.body);
  assert.deepEqual([first.json().contactId, first.json().dueAt], [contactA, "2027-05-01T18:00:00.000Z"]);
  const again = await call("POST", "/v1/scheduled-messages", payload);
  assert.equal(again.statusCode, 202);
  assert.equal(again.json().id, first.json().id, "the same notification");
  const row = await t.db.notification.findUniqueOrThrow({ where: { id: first.json().id } });
  await handOverDue(t.pool, new Date("2027-05-01T17:59:00Z"));
  assert.equal((await jobOf(row.jobKey!)).length, 1, "one job");
  assert.equal(await t.db.notification.count({ where: { idempotencyKey: row.idempotencyKey } }), 1);
});

test("a due time inside quiet hours (the contact's time zone) moves to their end, with the reason", async () => {
  await call("PATCH", "/v1/tenant", { notificationSettings: { quietHours: { start: "22:00", end: "07:00" } } });
  const tokyo = (await call("POST", "/v1/contacts", { customerId: "c-tokyo", timezone: "Asia/Tokyo" })).json();
  assert.equal(tokyo.timezone, "Asia/Tokyo");
  // 23:00 in Tokyo (UTC+9): quiet until 07:00 there, 22:00 UTC.
  const body = (
    await call(
      "POST",
      "/v1/scheduled-messages",
      reminder({ contactId: tokyo.id, after: undefined, at: "2027-05-02T14:00:00Z" }),
    )
  ).json();
  assert.deepEqual(
    [body.dueAt, body.reason],
    ["2027-05-02T22:00:00.000Z", "quiet hours until 2027-05-02T22:00:00.000Z"],
  );
  await call("PATCH", "/v1/tenant", { notificationSettings: {} });
});

test("refused: both or neither of contactId and contact, at and after; a negative or malformed duration; no such contact", async () => {
  const refusals: [object, number, string][] = [
    [reminder({ contact: { customerId: "c-1" } }), 400, "invalid_body"],
    [reminder({ contactId: undefined }), 400, "invalid_body"],
    [reminder({ at: "2099-01-01T00:00:00Z" }), 400, "invalid_body"],
    [reminder({ after: undefined }), 400, "invalid_body"],
    [reminder({ after: "-PT1H" }), 400, "invalid_body"],
    [reminder({ after: "two hours" }), 400, "validation_failed"],
    [reminder({ after: undefined, at: "2099-01-01T00:00:00" }), 400, "validation_failed"],
    [reminder({ after: "P2Y" }), 400, "invalid_body"],
    [reminder({ contactId: contactB }), 404, "not_found"],
    [reminder({ contactId: undefined, contact: { customerId: "nobody" } }), 404, "not_found"],
    [reminder({ message: { text: "" } }), 400, "validation_failed"],
    [reminder({ idempotencyKey: undefined }), 400, "validation_failed"],
  ];
  const before = await t.db.notification.count();
  for (const [payload, status, code] of refusals) {
    const response = await call("POST", "/v1/scheduled-messages", payload);
    assert.equal(response.statusCode, status, `${JSON.stringify(payload)}: ${response.body}`);
    assert.equal(response.json().error.code, code, JSON.stringify(payload));
  }
  assert.equal(await t.db.notification.count(), before, "nothing scheduled");
});

test("cancel: scheduled → cancelled with the reason, its job removed and notification.cancelled sent; again, unchanged; sent: 409; another tenant's: 404", async () => {
  await t.db.eventSubscription.create({
    data: {
      tenantId: tenantA,
      url: "https://hooks.example/a",
      eventTypes: ["notification.cancelled"],
      secrets: "sealed",
    },
  });
  // Due within two minutes: its job is added at once.
  const body = (await call("POST", "/v1/scheduled-messages", reminder({ after: "PT1M" }))).json();
  const { jobKey } = await t.db.notification.findUniqueOrThrow({ where: { id: body.id } });
  const url = `/v1/notifications/${body.id}/cancel`;
  assert.equal((await call("POST", url, undefined, keyB)).statusCode, 404, "another tenant's");
  assert.equal((await jobOf(jobKey!)).length, 1, "untouched by the other tenant");
  const cancelled = await call("POST", url);
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  assert.deepEqual([cancelled.json().status, cancelled.json().reason], ["cancelled", "cancelled through the API"]);
  assert.deepEqual(await jobOf(jobKey!), [], "its job is gone");
  const again = await call("POST", url);
  assert.deepEqual([again.statusCode, again.json().status], [200, "cancelled"]);
  // One still waiting for the hand-over (no job yet) is cancelled as well, and never handed over.
  const waiting = (await call("POST", "/v1/scheduled-messages", reminder({ after: "PT1H" }))).json();
  assert.equal((await call("POST", `/v1/notifications/${waiting.id}/cancel`)).json().status, "cancelled");
  await handOverDue(t.pool, new Date(Date.parse(waiting.dueAt)));
  const { jobKey: waitingKey } = await t.db.notification.findUniqueOrThrow({ where: { id: waiting.id } });
  assert.deepEqual(await jobOf(waitingKey!), []);
  const events = await t.db.event.findMany({
    where: { tenantId: tenantA, type: "notification.cancelled" },
    orderBy: { createdAt: "asc" },
  });
  assert.deepEqual(
    events.map((e) => e.data),
    [body.id, waiting.id].map((notificationId) => ({
      notificationId,
      kind: "reminder",
      status: "cancelled",
      reason: "cancelled through the API",
    })),
    "announced once each",
  );

  const sent = (await call("POST", "/v1/scheduled-messages", reminder())).json();
  await t.db.notification.update({ where: { id: sent.id }, data: { status: "sent" } });
  const late = await call("POST", `/v1/notifications/${sent.id}/cancel`);
  assert.equal(late.statusCode, 409);
  assert.equal(late.json().error.code, "not_scheduled");
  assert.equal((await call("POST", `/v1/notifications/${crypto.randomUUID()}/cancel`)).statusCode, 404);
});

test("rules take delay (a duration, or a time in the event plus an offset), cancelOn and replace; shown as given", async () => {
  const base = {
    eventType: "cart.updated",
    template: { text: "Your cart is waiting" },
    contactMatch: { by: "customerId", path: "$.data.customerId" },
    channelOrder: ["telegram"],
  };
  const created = await call("POST", "/v1/notification-rules", {
    ...base,
    name: "nudge",
    delay: "PT1H",
    cancelOn: [{ eventType: "order.created", match: "contact" }],
    replace: true,
  });
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual(
    [created.json().delay, created.json().cancelOn, created.json().replace],
    ["PT1H", [{ eventType: "order.created", match: "contact" }], true],
  );
  const at = await call("POST", "/v1/notification-rules", {
    ...base,
    name: "reminder",
    delay: { at: "$.data.reservationAt", offset: "-PT2H" },
  });
  assert.deepEqual(
    [at.json().delay, at.json().cancelOn, at.json().replace],
    [{ at: "$.data.reservationAt", offset: "-PT2H" }, [], false],
  );
  const plain = await call("POST", "/v1/notification-rules", { ...base, name: "now" });
  assert.equal(plain.json().delay, null);
  for (const bad of [
    { delay: "1 hour" },
    { delay: { at: "data.x" } },
    { delay: { at: "$.x", offset: "2h" } },
    { cancelOn: [{ eventType: "order.created", match: "order" }] },
  ]) {
    const response = await call("POST", "/v1/notification-rules", { ...base, name: "bad", ...bad });
    assert.equal(response.statusCode, 400, JSON.stringify(bad));
  }
});

test("a contact's or the tenant's time zone must be one the runtime knows: else 400 invalid_time_zone, nothing changed", async () => {
  const refused = [
    await call("POST", "/v1/contacts", { customerId: "c-mars", timezone: "Mars/Olympus" }),
    await call("PATCH", `/v1/contacts/${contactA}`, { timezone: "Europe/Nowhere" }),
    await call("PATCH", "/v1/tenant", { timezone: "UTC+25" }),
  ];
  for (const response of refused) {
    assert.equal(response.statusCode, 400, response.body);
    assert.equal(response.json().error.code, "invalid_time_zone");
  }
  assert.equal(await t.db.contact.count({ where: { customerId: "c-mars" } }), 0);
  assert.equal((await t.db.contact.findUniqueOrThrow({ where: { id: contactA } })).timezone, null);
  assert.equal((await t.db.tenant.findUniqueOrThrow({ where: { id: tenantA } })).timezone, "UTC");
  const changed = await call("PATCH", `/v1/contacts/${contactA}`, { timezone: "America/New_York" });
  assert.equal(changed.json().timezone, "America/New_York");
  assert.equal((await call("PATCH", `/v1/contacts/${contactA}`, { timezone: null })).json().timezone, null);
});
