import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { PlatformError, type ChannelSender, type ConversationRef, type Reply, type SendContext } from "@cb/core";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs, LEVEL } from "@cb/logging/testing";
import { startWorker, type JobRunner, type Task } from "@cb/jobs";
import { registry } from "@cb/observability";
import { parsePrometheus, sampleValue } from "@cb/observability/testing";
import type { NotifyDeps } from "../src/deliver.ts";
import { createNotificationTasks } from "../src/notify.ts";
import { INVALID_CONDITION } from "../src/rules.ts";
import { NOTIFY_EVENT, storeEvent, subjectQueue } from "../src/store.ts";
import { notifyJobs } from "./jobs.ts";

let t: TestDatabase;
let runner: JobRunner;

// The clock the tasks read (quiet hours, the 24-hour window); each test sets it.
let clock = new Date("2026-11-24T12:00:00Z");

// A recording sender for every account; `refuse` makes a send fail the way a platform would.
interface Sent {
  accountId: string;
  to: ConversationRef;
  reply: Reply;
  context: SendContext | undefined;
}
const sent: Sent[] = [];
let refuse: ((accountId: string) => Error | undefined) | undefined;
const getSender = async (accountId: string): Promise<ChannelSender> => ({
  reportsDelivery: false,
  async send(to, reply, context) {
    const error = refuse?.(accountId);
    if (error) throw error;
    sent.push({ accountId, to, reply, context });
    return [{ platformMessageId: `pm-${sent.length}`, raw: { ok: true } }];
  },
});
const depsWithClock = (): NotifyDeps => ({ db: t.db, pool: t.pool, getSender, now: () => clock });
// The worker runs whatever tasks the test has made (a test swaps in ones on the real clock).
let tasks: Record<string, Task>;

before(async () => {
  t = await createTestDatabase();
  tasks = createNotificationTasks(depsWithClock());
  runner = await startWorker({
    connectionString: t.url,
    concurrency: 2,
    pollIntervalMs: 100,
    taskList: { [NOTIFY_EVENT]: (payload, helpers) => tasks[NOTIFY_EVENT]!(payload, helpers) },
  });
});
after(async () => {
  await runner.stop();
  await t.drop();
});

/** Waits until no notify job is due; a job that failed fails the test with its error. */
async function settle(): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const { rows } = await t.pool.query<{ due: string; error: string | null }>(
      `SELECT count(*) FILTER (WHERE run_at <= now()) AS due, max(last_error) AS error
       FROM graphile_worker.jobs WHERE task_identifier = $1`,
      [NOTIFY_EVENT],
    );
    if (rows[0]!.error) throw new Error(`a notify job failed: ${rows[0]!.error}`);
    if (rows[0]!.due === "0") return;
    if (Date.now() > end) {
      const { rows: jobs } = await t.pool.query("SELECT * FROM graphile_worker.jobs");
      throw new Error(`notify jobs still due after 10 s: ${JSON.stringify(jobs)}`);
    }
    await sleep(30);
  }
}

interface Shop {
  tenantId: string;
  telegram: string;
  whatsapp: string;
  messenger: string;
  slack: string;
}

/** A tenant with one account per channel and a subscriber to the notification events. */
async function shop(settings: { timezone?: string; notificationSettings?: object } = {}): Promise<Shop> {
  const tenantId = (await t.db.tenant.create({ data: { name: "Shop", ...settings } })).id;
  const account = async (channel: string, enabled = true) =>
    (await t.db.channelAccount.create({ data: { tenantId, channel, name: channel, secrets: "sealed", enabled } })).id;
  await t.db.eventSubscription.create({
    data: {
      tenantId,
      url: "https://hooks.example/notifications",
      eventTypes: ["notification.sent", "notification.failed", "notification.skipped"],
      secrets: "sealed",
    },
  });
  return {
    tenantId,
    telegram: await account("telegram"),
    whatsapp: await account("whatsapp"),
    messenger: await account("messenger"),
    slack: await account("slack"),
  };
}

async function rule(
  tenantId: string,
  fields: {
    name?: string;
    eventType?: string;
    conditions?: string[];
    template?: object;
    contactMatch?: object;
    channelOrder?: string[];
    enabled?: boolean;
  } = {},
) {
  return t.db.notificationRule.create({
    data: {
      tenantId,
      name: fields.name ?? "shipped",
      eventType: fields.eventType ?? "order.shipped",
      conditions: fields.conditions ?? [],
      template: fields.template ?? { text: "Order {{data.orderId}} is on its way with {{data.carrier}}" },
      contactMatch: fields.contactMatch ?? { by: "customerId", path: "$.data.customerId" },
      channelOrder: fields.channelOrder ?? ["telegram"],
      ...(fields.enabled === undefined ? {} : { enabled: fields.enabled }),
    },
  });
}

async function contact(
  tenantId: string,
  fields: { customerId?: string; phone?: string; email?: string; optedOutAt?: Date },
  identities: { channelAccountId: string; externalId: string }[],
) {
  return t.db.contact.create({
    data: { tenantId, ...fields, identities: { create: identities.map((i) => ({ tenantId, ...i })) } },
  });
}

/** Stores an order event (as the intake does, queueing its notify job) and waits for the worker. */
async function fire(tenantId: string, data: Record<string, unknown>, type = "order.shipped"): Promise<string> {
  const eventId = `evt-${randomUUID()}`;
  await storeEvent(t.db, {
    tenantId,
    source: "webhook",
    eventId,
    type,
    subject: String(data.orderId ?? randomUUID()),
    occurredAt: new Date(),
    data,
  });
  await settle();
  return (
    await t.db.orderEvent.findUniqueOrThrow({
      where: { tenantId_source_eventId: { tenantId, source: "webhook", eventId } },
    })
  ).id;
}

/** Runs an event's notify job once more, as a retry or a second worker would. */
async function runAgain(orderEventId: string): Promise<void> {
  await t.pool.query(`SELECT graphile_worker.add_job($1, json_build_object('orderEventId', $2::text))`, [
    NOTIFY_EVENT,
    orderEventId,
  ]);
  await settle();
}

const notificationsOf = (orderEventId: string) =>
  t.db.notification.findMany({ where: { orderEventId }, orderBy: { createdAt: "asc" } });
const eventsOf = (tenantId: string) =>
  t.db.event.findMany({ where: { tenantId }, orderBy: { createdAt: "asc" }, select: { type: true, data: true } });
const sentTo = (accountId: string) => sent.filter((s) => s.accountId === accountId);

test("a notification goes out once on the first reachable channel, recorded and announced as notification.sent", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  const s = await shop();
  const r = await rule(s.tenantId, { channelOrder: ["whatsapp", "telegram", "slack"] });
  const c = await contact(s.tenantId, { customerId: "C-1" }, [
    { channelAccountId: s.telegram, externalId: "9001" },
    { channelAccountId: s.slack, externalId: "D-1" },
  ]);
  const orderEventId = await fire(s.tenantId, { orderId: "A-1", customerId: "C-1", carrier: "DHL" });

  assert.deepEqual(sentTo(s.telegram), [
    {
      accountId: s.telegram,
      to: { externalId: "9001", type: "private" },
      reply: { type: "text", text: "Order A-1 is on its way with DHL" },
      context: {},
    },
  ]);
  assert.deepEqual(sentTo(s.slack), [], "only the first reachable channel");
  const [n, ...more] = await notificationsOf(orderEventId);
  assert.equal(more.length, 0);
  assert.deepEqual(
    [n!.status, n!.reason, n!.ruleId, n!.contactId, n!.channelAccountId],
    ["sent", null, r.id, c.id, s.telegram],
  );
  const message = await t.db.message.findUniqueOrThrow({
    where: { id: n!.messageId! },
    include: { conversation: true },
  });
  assert.deepEqual(
    [message.direction, message.status, message.content, message.conversation.externalId],
    ["out", "sent", { type: "text", text: "Order A-1 is on its way with DHL" }, "9001"],
  );
  const orderEvent = await t.db.orderEvent.findUniqueOrThrow({ where: { id: orderEventId } });
  assert.deepEqual(await eventsOf(s.tenantId), [
    {
      type: "notification.sent",
      data: {
        notificationId: n!.id,
        eventId: orderEvent.eventId,
        rule: "shipped",
        status: "sent",
        contactId: c.id,
        channelAccountId: s.telegram,
        messageId: n!.messageId,
      },
    },
  ]);

  // The job runs again (a retry, a second worker): nothing is sent or announced twice.
  await runAgain(orderEventId);
  assert.equal(sentTo(s.telegram).length, 1);
  assert.equal((await eventsOf(s.tenantId)).length, 1);
});

test("every enabled rule of the event's type whose conditions all hold notifies; the others do not", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  const s = await shop();
  await rule(s.tenantId, { name: "dhl", conditions: ["$.data.total > 10", "$.data.carrier == 'DHL'"] });
  await rule(s.tenantId, {
    name: "big",
    conditions: ["$.data.total > 100"],
    template: { text: "Big order {{data.orderId}}" },
  });
  await rule(s.tenantId, { name: "off", enabled: false, template: { text: "disabled rule" } });
  await rule(s.tenantId, { name: "paid", eventType: "order.paid", template: { text: "paid {{data.orderId}}" } });
  await contact(s.tenantId, { customerId: "c-2" }, [{ channelAccountId: s.telegram, externalId: "9002" }]);

  const both = await fire(s.tenantId, { orderId: "B-1", customerId: "c-2", total: 500, carrier: "DHL" });
  const texts = () => sentTo(s.telegram).map((m) => (m.reply as { text: string }).text);
  assert.deepEqual(texts().sort(), ["Big order B-1", "Order B-1 is on its way with DHL"]);
  assert.equal((await notificationsOf(both)).length, 2, "one notification per rule");

  for (const data of [
    { orderId: "B-2", customerId: "c-2", total: 5, carrier: "DHL" },
    { orderId: "B-3", customerId: "c-2", total: 50, carrier: "UPS" },
  ]) {
    const none = await fire(s.tenantId, data);
    assert.deepEqual(await notificationsOf(none), [], JSON.stringify(data));
  }
  const paid = await fire(s.tenantId, { orderId: "B-4", customerId: "c-2" }, "order.paid");
  assert.equal((await notificationsOf(paid)).length, 1);
  assert.deepEqual(
    texts().sort(),
    ["Big order B-1", "Order B-1 is on its way with DHL", "paid B-4"],
    "nothing for the failed conditions, the disabled rule",
  );
});

test("skipped, with the reason, and announced as notification.skipped: no contact value, no contact, opted out, nowhere to send", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  const s = await shop();
  await rule(s.tenantId, { channelOrder: ["whatsapp", "messenger", "telegram", "slack"] });
  const optedOut = await contact(s.tenantId, { customerId: "c-out", optedOutAt: new Date() }, [
    { channelAccountId: s.telegram, externalId: "9003" },
  ]);
  const nowhere = await contact(s.tenantId, { customerId: "c-nowhere" }, []);
  // Reachable only through a disabled account.
  const disabled = (
    await t.db.channelAccount.create({
      data: { tenantId: s.tenantId, channel: "telegram", name: "old bot", secrets: "sealed", enabled: false },
    })
  ).id;
  const retired = await contact(s.tenantId, { customerId: "c-retired" }, [
    { channelAccountId: disabled, externalId: "9004" },
  ]);
  const everyChannel =
    "whatsapp: not reachable there; messenger: not reachable there; telegram: not reachable there; slack: not reachable there";

  const cases: [Record<string, unknown>, string, string | undefined][] = [
    [{ orderId: "K-1" }, "no customerId at $.data.customerId", undefined],
    [{ orderId: "K-2", customerId: null }, "no customerId at $.data.customerId", undefined],
    [{ orderId: "K-3", customerId: "" }, "no customerId at $.data.customerId", undefined],
    [{ orderId: "K-4", customerId: "c-unknown" }, "no contact with customerId c-unknown", undefined],
    [{ orderId: "K-5", customerId: "c-out" }, "the contact opted out", optedOut.id],
    [{ orderId: "K-6", customerId: "c-nowhere" }, everyChannel, nowhere.id],
    [{ orderId: "K-7", customerId: "c-retired" }, everyChannel, retired.id],
  ];
  for (const [data, reason, contactId] of cases) {
    const orderEventId = await fire(s.tenantId, data);
    const [n] = await notificationsOf(orderEventId);
    assert.deepEqual(
      [n?.status, n?.reason, n?.contactId, n?.channelAccountId, n?.messageId],
      ["skipped", reason, contactId ?? null, null, null],
    );
    const orderEvent = await t.db.orderEvent.findUniqueOrThrow({ where: { id: orderEventId } });
    const announced = (await eventsOf(s.tenantId)).filter(
      (e) => (e.data as { notificationId: string }).notificationId === n!.id,
    );
    assert.deepEqual(announced, [
      {
        type: "notification.skipped",
        data: {
          notificationId: n!.id,
          eventId: orderEvent.eventId,
          rule: "shipped",
          status: "skipped",
          reason,
          ...(contactId ? { contactId } : {}),
        },
      },
    ]);
    await runAgain(orderEventId);
    assert.equal(
      (await eventsOf(s.tenantId)).filter((e) => (e.data as { notificationId: string }).notificationId === n!.id)
        .length,
      1,
      "a skipped notification is not reconsidered",
    );
  }
  assert.deepEqual(
    sent.filter((m) => m.to.externalId === "9003" || m.to.externalId === "9004"),
    [],
  );

  // A rule with no channels at all.
  await rule(s.tenantId, { name: "empty", eventType: "order.lost", channelOrder: [] });
  const lost = await fire(s.tenantId, { orderId: "K-8", customerId: "c-nowhere" }, "order.lost");
  const [n] = await notificationsOf(lost);
  assert.deepEqual([n?.status, n?.reason], ["skipped", "no channel to try"]);
});

test("contacts are found by phone (any notation, as E.164) or e-mail (any case)", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  const s = await shop();
  await rule(s.tenantId, {
    name: "by phone",
    eventType: "order.delivered",
    contactMatch: { by: "phone", path: "$.data.phone" },
    template: { text: "Delivered {{data.orderId}}" },
  });
  await rule(s.tenantId, {
    name: "by email",
    eventType: "order.paid",
    contactMatch: { by: "email", path: "$.data.email" },
    template: { text: "Paid {{data.orderId}}" },
  });
  await contact(s.tenantId, { phone: "+4915111111111", email: "ann@example.com" }, [
    { channelAccountId: s.telegram, externalId: "9010" },
  ]);
  await fire(s.tenantId, { orderId: "P-1", phone: "+49 151 1111 1111" }, "order.delivered");
  await fire(s.tenantId, { orderId: "P-2", email: "Ann@Example.COM" }, "order.paid");
  assert.deepEqual(
    sentTo(s.telegram).map((m) => (m.reply as { text: string }).text),
    ["Delivered P-1", "Paid P-2"],
  );
  const unparsable = await fire(s.tenantId, { orderId: "P-3", phone: "12" }, "order.delivered");
  assert.equal((await notificationsOf(unparsable))[0]?.reason, "no contact with phone 12");
});

test("WhatsApp outside the 24-hour window sends the rule's approved template, inside it the text", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  const s = await shop();
  await rule(s.tenantId, {
    channelOrder: ["whatsapp"],
    template: {
      text: "Order {{data.orderId}} shipped",
      whatsapp: { template: "order_shipped", language: "en_US", parameters: ["$.data.orderId", "$.data.missing"] },
    },
  });
  await rule(s.tenantId, {
    name: "plain template",
    eventType: "order.paid",
    channelOrder: ["whatsapp"],
    template: { text: "Paid", whatsapp: { template: "order_paid", language: "de" } },
  });
  await contact(s.tenantId, { customerId: "c-wa" }, [{ channelAccountId: s.whatsapp, externalId: "4915122222222" }]);
  const replies = () => sentTo(s.whatsapp).map((m) => m.reply);

  // Never written: outside.
  await fire(s.tenantId, { orderId: "W-1", customerId: "c-wa" });
  assert.deepEqual(replies().at(-1), {
    type: "template",
    name: "order_shipped",
    language: "en_US",
    components: [
      {
        type: "body",
        parameters: [
          { type: "text", text: "W-1" },
          { type: "text", text: "" },
        ],
      },
    ],
  });
  await fire(s.tenantId, { orderId: "W-2", customerId: "c-wa" }, "order.paid");
  assert.deepEqual(replies().at(-1), { type: "template", name: "order_paid", language: "de" }, "no parameters");

  const conversation = { channelAccountId: s.whatsapp, externalId: "4915122222222" };
  const lastWrote = (ms: number) =>
    t.db.conversation.update({
      where: { channelAccountId_externalId: conversation },
      data: { lastInboundAt: new Date(clock.getTime() - ms) },
    });
  await lastWrote(24 * 3600_000);
  await fire(s.tenantId, { orderId: "W-3", customerId: "c-wa" });
  assert.equal(replies().at(-1)?.type, "template", "exactly 24 hours ago is outside");
  await lastWrote(24 * 3600_000 - 1000);
  await fire(s.tenantId, { orderId: "W-4", customerId: "c-wa" });
  assert.deepEqual(replies().at(-1), { type: "text", text: "Order W-4 shipped" });
  assert.equal(replies().length, 4);
});

test("WhatsApp outside the window without a template, Messenger without a tag: the next channel, else skipped", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  const s = await shop();
  await rule(s.tenantId, {
    channelOrder: ["whatsapp", "messenger", "telegram"],
    template: { text: "Order {{data.orderId}}" },
  });
  await rule(s.tenantId, {
    name: "tagged",
    eventType: "order.paid",
    channelOrder: ["messenger"],
    template: { text: "Paid {{data.orderId}}", messenger: { tag: "POST_PURCHASE_UPDATE" } },
  });
  await contact(s.tenantId, { customerId: "c-all" }, [
    { channelAccountId: s.whatsapp, externalId: "4915133333333" },
    { channelAccountId: s.messenger, externalId: "PSID-1" },
    { channelAccountId: s.telegram, externalId: "9020" },
  ]);
  await contact(s.tenantId, { customerId: "c-meta" }, [
    { channelAccountId: s.whatsapp, externalId: "4915144444444" },
    { channelAccountId: s.messenger, externalId: "PSID-2" },
  ]);

  await fire(s.tenantId, { orderId: "M-1", customerId: "c-all" });
  assert.deepEqual(
    [sentTo(s.whatsapp).length, sentTo(s.messenger).length, sentTo(s.telegram).map((m) => m.reply)],
    [0, 0, [{ type: "text", text: "Order M-1" }]],
  );
  const skipped = await fire(s.tenantId, { orderId: "M-2", customerId: "c-meta" });
  assert.deepEqual(
    (await notificationsOf(skipped)).map((n) => [n.status, n.reason]),
    [
      [
        "skipped",
        "whatsapp: outside the 24-hour window and no approved template; messenger: outside the 24-hour window and no message tag; telegram: not reachable there",
      ],
    ],
  );

  // Messenger with the rule's tag outside the window; inside it, a plain response.
  await fire(s.tenantId, { orderId: "M-3", customerId: "c-meta" }, "order.paid");
  assert.deepEqual(sentTo(s.messenger).at(-1), {
    accountId: s.messenger,
    to: { externalId: "PSID-2", type: "private" },
    reply: { type: "text", text: "Paid M-3" },
    context: { messageTag: "POST_PURCHASE_UPDATE" },
  });
  await t.db.conversation.update({
    where: { channelAccountId_externalId: { channelAccountId: s.messenger, externalId: "PSID-2" } },
    data: { lastInboundAt: new Date(clock.getTime() - 3600_000) },
  });
  await fire(s.tenantId, { orderId: "M-4", customerId: "c-meta" }, "order.paid");
  assert.deepEqual(sentTo(s.messenger).at(-1)?.context, {});
  // Inside the window the first channel takes plain text, template or not.
  await fire(s.tenantId, { orderId: "M-5", customerId: "c-meta" });
  assert.deepEqual(
    [sentTo(s.whatsapp).length, sentTo(s.messenger).at(-1)?.reply],
    [0, { type: "text", text: "Order M-5" }],
  );
});

test("a platform's permanent refusal: failed with its error, announced as notification.failed, not retried", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  const s = await shop();
  await rule(s.tenantId, { channelOrder: ["telegram", "slack"] });
  const c = await contact(s.tenantId, { customerId: "c-blocked" }, [
    { channelAccountId: s.telegram, externalId: "9030" },
    { channelAccountId: s.slack, externalId: "D-2" },
  ]);
  refuse = (accountId) =>
    accountId === s.telegram
      ? new PlatformError("telegram", "403", "Forbidden: bot was blocked by the user", false)
      : undefined;
  try {
    const orderEventId = await fire(s.tenantId, { orderId: "X-1", customerId: "c-blocked" });
    const [n] = await notificationsOf(orderEventId);
    const reason = JSON.stringify({
      platform: "telegram",
      code: "403",
      message: "Forbidden: bot was blocked by the user",
    });
    assert.deepEqual([n?.status, n?.reason, n?.contactId, n?.channelAccountId], ["failed", reason, c.id, s.telegram]);
    assert.equal((await t.db.message.findUniqueOrThrow({ where: { id: n!.messageId! } })).status, "failed");
    const orderEvent = await t.db.orderEvent.findUniqueOrThrow({ where: { id: orderEventId } });
    assert.deepEqual(await eventsOf(s.tenantId), [
      {
        type: "notification.failed",
        data: {
          notificationId: n!.id,
          eventId: orderEvent.eventId,
          rule: "shipped",
          status: "failed",
          reason,
          contactId: c.id,
          channelAccountId: s.telegram,
          messageId: n!.messageId,
        },
      },
    ]);
    refuse = undefined;
    await runAgain(orderEventId);
    assert.equal((await eventsOf(s.tenantId)).length, 1, "a failed notification is not reconsidered");
    assert.equal(sentTo(s.slack).length + sentTo(s.telegram).length, 0);
  } finally {
    refuse = undefined;
  }
});

test("a rule whose condition cannot be evaluated does not notify, and says so in the log; the others still do", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  const { logger, lines } = captureLogs();
  tasks = createNotificationTasks({ ...depsWithClock(), logger });
  try {
    const s = await shop();
    const broken = await rule(s.tenantId, { name: "broken", conditions: ["$.data.total >"] });
    await rule(s.tenantId, {
      name: "fine",
      conditions: ["$.data.total > 1"],
      template: { text: "fine {{data.orderId}}" },
    });
    await contact(s.tenantId, { customerId: "c-bad" }, [{ channelAccountId: s.telegram, externalId: "9077" }]);

    const orderEventId = await fire(s.tenantId, { orderId: "X-1", customerId: "c-bad", total: 5 });
    assert.deepEqual(
      sentTo(s.telegram).map((m) => (m.reply as { text: string }).text),
      ["fine X-1"],
    );
    const invalid = lines.filter((l) => l.msg === INVALID_CONDITION);
    assert.equal(invalid.length, 1);
    assert.equal(invalid[0]!.level, LEVEL.warn);
    assert.equal(invalid[0]!.ruleId, broken.id);
    assert.equal(invalid[0]!.tenantId, s.tenantId);
    assert.equal(invalid[0]!.orderEventId, orderEventId);
    assert.equal(invalid[0]!.condition, "$.data.total >");
  } finally {
    tasks = createNotificationTasks(depsWithClock());
  }
});

test("quiet hours defer notifications (recorded as deferred) to their end, when they are sent", async () => {
  // 23:30 in Berlin; quiet until 07:30 there, 06:30 UTC the next day. (In the future, so that the
  // queue holds the job back until the test makes it due.)
  clock = new Date("2099-11-24T22:30:00Z");
  const until = new Date("2099-11-25T06:30:00Z");
  const s = await shop({
    timezone: "Europe/Berlin",
    notificationSettings: { quietHours: { start: "22:00", end: "07:30" } },
  });
  await rule(s.tenantId);
  await rule(s.tenantId, { name: "never", conditions: ["$.data.total > 1000"] });
  await contact(s.tenantId, { customerId: "c-night" }, [{ channelAccountId: s.telegram, externalId: "9040" }]);

  const orderEventId = await fire(s.tenantId, { orderId: "Q-1", customerId: "c-night", carrier: "DHL", total: 5 });
  const deferred = await notificationsOf(orderEventId);
  assert.deepEqual(
    deferred.map((n) => [n.status, n.reason]),
    [["deferred", `quiet hours until ${until.toISOString()}`]],
    "recorded as deferred, for the rule whose conditions hold",
  );
  assert.deepEqual(sentTo(s.telegram), []);
  assert.deepEqual(await eventsOf(s.tenantId), [], "nothing announced yet");
  const jobs = async () => (await notifyJobs(t.pool, orderEventId)).map((j) => j.run_at.toISOString());
  assert.deepEqual(await jobs(), [until.toISOString()], "queued again for the end of quiet hours");
  assert.equal(
    (await notifyJobs(t.pool, orderEventId))[0]?.queue_name,
    subjectQueue(s.tenantId, "Q-1"),
    "in the order's queue, so its events still notify in order",
  );

  // Run again during quiet hours (a retry, a second job): still one deferral, one job.
  await runAgain(orderEventId);
  assert.deepEqual(await jobs(), [until.toISOString()]);
  assert.equal((await notificationsOf(orderEventId)).length, 1);

  // An event no rule wants is not deferred.
  const unwanted = await fire(s.tenantId, { orderId: "Q-2" }, "order.unknown");
  assert.deepEqual(await notifyJobs(t.pool, unwanted), []);

  // The queue brings the job back when it is due: one minute early (the clock is still quiet)...
  const due = () =>
    t.pool.query(`UPDATE graphile_worker._private_jobs SET run_at = now() WHERE payload->>'orderEventId' = $1`, [
      orderEventId,
    ]);
  clock = new Date(until.getTime() - 60_000);
  await due();
  await settle();
  assert.deepEqual(sentTo(s.telegram), []);
  assert.deepEqual(await jobs(), [until.toISOString()], "deferred again, to the same end");
  assert.equal((await notificationsOf(orderEventId))[0]?.status, "deferred");

  // ...and at the end of quiet hours it is sent.
  clock = until;
  await due();
  await settle();
  assert.deepEqual(
    sentTo(s.telegram).map((m) => m.reply),
    [{ type: "text", text: "Order Q-1 is on its way with DHL" }],
  );
  const [n] = await notificationsOf(orderEventId);
  assert.deepEqual([n?.status, n?.reason], ["sent", null]);
  assert.deepEqual(
    (await eventsOf(s.tenantId)).map((e) => e.type),
    ["notification.sent"],
  );
  assert.deepEqual(await jobs(), [], "nothing left waiting");
});

test("quiet hours are the contact's when it has a time zone, else the tenant's: each rule's notification held or sent by its own", async () => {
  // 15:00 in Berlin (the tenant's zone), 23:00 in Tokyo: quiet there until 07:30 Tokyo, 22:30 UTC.
  clock = new Date("2099-12-01T14:00:00Z");
  const s = await shop({
    timezone: "Europe/Berlin",
    notificationSettings: { quietHours: { start: "22:00", end: "07:30" } },
  });
  await rule(s.tenantId);
  await t.db.contact.create({
    data: {
      tenantId: s.tenantId,
      customerId: "c-tokyo",
      timezone: "Asia/Tokyo",
      identities: { create: [{ tenantId: s.tenantId, channelAccountId: s.telegram, externalId: "9061" }] },
    },
  });
  await contact(s.tenantId, { customerId: "c-berlin" }, [{ channelAccountId: s.telegram, externalId: "9062" }]);
  const tokyo = await fire(s.tenantId, { orderId: "TZ-1", customerId: "c-tokyo", carrier: "DHL" });
  const berlin = await fire(s.tenantId, { orderId: "TZ-2", customerId: "c-berlin", carrier: "DHL" });
  assert.deepEqual(
    [...(await notificationsOf(tokyo)), ...(await notificationsOf(berlin))].map((n) => [n.status, n.reason]),
    [
      ["deferred", "quiet hours until 2099-12-01T22:30:00.000Z"],
      ["sent", null],
    ],
  );
  assert.deepEqual(
    (await notifyJobs(t.pool, tokyo)).map((j) => j.run_at.toISOString()),
    ["2099-12-01T22:30:00.000Z"],
    "back when the contact's quiet hours end",
  );
  // 23:30 in Berlin, 07:30 in Tokyo: the Tokyo contact's is sent, the Berlin contact's deferred.
  clock = new Date("2099-12-01T22:30:00Z");
  await t.pool.query(`UPDATE graphile_worker._private_jobs SET run_at = now() WHERE payload->>'orderEventId' = $1`, [
    tokyo,
  ]);
  await settle();
  const late = await fire(s.tenantId, { orderId: "TZ-3", customerId: "c-berlin", carrier: "DHL" });
  assert.deepEqual(
    [...(await notificationsOf(tokyo)), ...(await notificationsOf(late))].map((n) => [n.status, n.reason]),
    [
      ["sent", null],
      ["deferred", "quiet hours until 2099-12-02T06:30:00.000Z"],
    ],
  );
  assert.deepEqual(
    sentTo(s.telegram).map((m) => m.to.externalId),
    ["9062", "9061"],
  );
});

test("without a clock of their own, the tasks use the real time (quiet hours, the 24-hour window)", async () => {
  const hhmm = (d: Date) => d.toISOString().slice(11, 16);
  const real = Date.now();
  const s = await shop({
    timezone: "UTC",
    notificationSettings: {
      quietHours: { start: hhmm(new Date(real - 3600_000)), end: hhmm(new Date(real + 3600_000)) },
    },
  });
  const open = await shop();
  for (const tenantId of [s.tenantId, open.tenantId])
    await rule(tenantId, {
      channelOrder: ["whatsapp"],
      template: { text: "Now {{data.orderId}}", whatsapp: { template: "order_now", language: "en" } },
    });
  await contact(s.tenantId, { customerId: "c-real" }, [{ channelAccountId: s.whatsapp, externalId: "4915155555555" }]);
  await contact(open.tenantId, { customerId: "c-real" }, [
    { channelAccountId: open.whatsapp, externalId: "4915166666666" },
  ]);
  await t.db.conversation.create({
    data: {
      tenantId: open.tenantId,
      channelAccountId: open.whatsapp,
      externalId: "4915166666666",
      lastInboundAt: new Date(real - 23 * 3600_000),
    },
  });
  tasks = createNotificationTasks({ db: t.db, pool: t.pool, getSender });
  try {
    const quiet = await fire(s.tenantId, { orderId: "R-1", customerId: "c-real" });
    assert.equal((await notificationsOf(quiet))[0]?.status, "deferred", "now is inside the quiet hours");
    await fire(open.tenantId, { orderId: "R-2", customerId: "c-real" });
    assert.deepEqual(
      sentTo(open.whatsapp).map((m) => m.reply),
      [{ type: "text", text: "Now R-2" }],
      "inside the window",
    );
  } finally {
    tasks = createNotificationTasks(depsWithClock());
  }
});

test("a job for an event that no longer exists ends quietly", async () => {
  await runAgain(randomUUID());
});

/** Stores two events of one order, one after the other, without waiting for their notifications. */
async function fireTwo(tenantId: string, orderId: string, customerId: string): Promise<[string, string]> {
  const ids: string[] = [];
  for (const [n, carrier] of ["DHL", "UPS"].entries()) {
    const eventId = `evt-${randomUUID()}`;
    await storeEvent(t.db, {
      tenantId,
      source: "webhook",
      eventId,
      type: "order.shipped",
      subject: orderId,
      occurredAt: new Date(Date.now() + n),
      data: { orderId, customerId, carrier },
    });
    ids.push(
      (
        await t.db.orderEvent.findUniqueOrThrow({
          where: { tenantId_source_eventId: { tenantId, source: "webhook", eventId } },
        })
      ).id,
    );
  }
  return ids as [string, string];
}
async function waitFor(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not within 20 s: ${what}`);
    await sleep(50);
  }
}
/** The platform refuses the next `n` sends to `accountId` with a retryable error (a long Retry-After). */
function refuseNext(accountId: string, n: number) {
  let left = n;
  refuse = (id) =>
    id === accountId && left-- > 0
      ? new PlatformError("telegram", "429", "Too Many Requests: retry after 60", true, 60_000)
      : undefined;
}

test("an order's events notify in order: while the first is retried, the second waits", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  tasks = createNotificationTasks(depsWithClock(), { retryDelayMs: () => 300 });
  const s = await shop();
  await rule(s.tenantId);
  await contact(s.tenantId, { customerId: "c-order" }, [{ channelAccountId: s.telegram, externalId: "9050" }]);
  refuseNext(s.telegram, 2);
  try {
    const [first, second] = await fireTwo(s.tenantId, "IN-1", "c-order");
    await waitFor("both sent", () => sentTo(s.telegram).length === 2);
    assert.deepEqual(
      sentTo(s.telegram).map((m) => (m.reply as { text: string }).text),
      ["Order IN-1 is on its way with DHL", "Order IN-1 is on its way with UPS"],
    );
    const events = await t.db.orderEvent.findMany({ where: { id: { in: [first, second] } } });
    const byId = new Map(events.map((e) => [e.id, e]));
    assert.equal(byId.get(first)!.attempts, 3, "two failed attempts, then the one that sent");
    await waitFor("the second recorded as notified", async () =>
      Boolean((await t.db.orderEvent.findUniqueOrThrow({ where: { id: second } })).notifiedAt),
    );
  } finally {
    refuse = undefined;
    tasks = createNotificationTasks(depsWithClock());
  }
});

test("an order event that keeps failing is given up on after its last attempt, its notification failed and announced; the next one is sent", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  tasks = createNotificationTasks(depsWithClock(), { retryDelayMs: () => 200, maxAttempts: 2 });
  const s = await shop();
  await rule(s.tenantId);
  await contact(s.tenantId, { customerId: "c-doomed" }, [{ channelAccountId: s.telegram, externalId: "9060" }]);
  refuseNext(s.telegram, 2);
  try {
    const [first, second] = await fireTwo(s.tenantId, "IN-2", "c-doomed");
    await waitFor("the second sent", () => sentTo(s.telegram).length === 1);
    assert.deepEqual(
      sentTo(s.telegram).map((m) => (m.reply as { text: string }).text),
      ["Order IN-2 is on its way with UPS"],
    );
    const [n] = await notificationsOf(first);
    assert.equal(n!.status, "failed");
    assert.equal(n!.reason, "gave up after 2 attempt(s): Too Many Requests: retry after 60");
    const given = await t.db.orderEvent.findUniqueOrThrow({ where: { id: first } });
    assert.ok(given.notifiedAt);
    assert.equal(given.error, "Too Many Requests: retry after 60");
    await waitFor("the second recorded", async () => (await notificationsOf(second))[0]?.status === "sent");
    assert.deepEqual(
      (await eventsOf(s.tenantId)).map((e) => [e.type, (e.data as { notificationId: string }).notificationId]),
      [
        ["notification.failed", n!.id],
        ["notification.sent", (await notificationsOf(second))[0]!.id],
      ],
    );
  } finally {
    refuse = undefined;
    tasks = createNotificationTasks(depsWithClock());
  }
});

test("notifications are counted by outcome (the metric cb_notifications_total)", async () => {
  clock = new Date("2026-11-24T12:00:00Z");
  const s = await shop();
  await rule(s.tenantId, { channelOrder: ["telegram"] });
  await contact(s.tenantId, { customerId: "M-1" }, [{ channelAccountId: s.telegram, externalId: "9101" }]);
  const before = parsePrometheus(await registry.metrics());
  await fire(s.tenantId, { orderId: "M-A", customerId: "M-1", carrier: "DHL" });
  await fire(s.tenantId, { orderId: "M-B", customerId: "nobody" });
  const after = parsePrometheus(await registry.metrics());
  const moved = (outcome: string) =>
    sampleValue(after, "cb_notifications_total", { outcome }) -
    sampleValue(before, "cb_notifications_total", { outcome });
  assert.deepEqual(["sent", "skipped", "failed", "deferred"].map(moved), [1, 1, 0, 0]);
});
