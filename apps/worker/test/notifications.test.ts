import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { generateSigningSecret, signatureHeaders } from "@cb/fulfillment";
import { newKey } from "@cb/admin-api";
import { quietUntil } from "@cb/notifications";
import { sleep, startStack, textUpdate, type Stack } from "./support.ts";

let stack: Stack;
let secret: string;
let apiKey: string;

before(async () => {
  stack = await startStack();
  secret = generateSigningSecret();
  await stack.t.db.tenant.update({ where: { id: stack.tenantId }, data: { eventsSecret: stack.sealer.seal(secret) } });
  const key = newKey();
  await stack.t.db.apiKey.create({
    data: { id: key.id, tenantId: stack.tenantId, name: "orders", scopes: ["events"], secretHash: key.hash, hint: "x" },
  });
  apiKey = key.key;
  const tenantId = stack.tenantId;
  await stack.t.db.notificationRule.createMany({
    data: [
      {
        tenantId,
        name: "shipped",
        eventType: "order.shipped",
        conditions: ["$.data.total > 10"],
        template: {
          text: "Order {{data.orderId}} has shipped 🚚",
          whatsapp: { template: "order_shipped", language: "en_US", parameters: ["$.data.orderId"] },
          messenger: { tag: "POST_PURCHASE_UPDATE" },
        },
        contactMatch: { by: "customerId", path: "$.data.customerId" },
        channelOrder: ["whatsapp", "messenger", "telegram", "slack"],
      },
      {
        tenantId,
        name: "delivered",
        eventType: "order.delivered",
        conditions: [],
        template: { text: "Order {{data.orderId}} was delivered" },
        contactMatch: { by: "phone", path: "$.data.phone" },
        channelOrder: ["telegram"],
      },
    ],
  });
  const contact = (
    customerId: string,
    identities: { channelAccountId: string; externalId: string }[],
    phone?: string,
  ) =>
    stack.t.db.contact.create({
      data: {
        tenantId,
        customerId,
        ...(phone ? { phone } : {}),
        identities: { create: identities.map((i) => ({ tenantId, ...i })) },
      },
    });
  await contact("tg-only", [{ channelAccountId: stack.accountId, externalId: "9001" }], "+4915111111111");
  await contact("wa", [{ channelAccountId: stack.whatsappAccountId, externalId: "4915122222222" }]);
  await contact("fb", [{ channelAccountId: stack.messengerAccountId, externalId: "PSID-77" }]);
  await contact("sl", [{ channelAccountId: stack.slackAccountId, externalId: "D-SLACK-1" }]);
});
after(() => stack.close());

const post = (body: object, id: string, at = new Date()) => {
  const raw = JSON.stringify(body);
  return stack.app.inject({
    method: "POST",
    url: `/v1/tenants/${stack.tenantId}/events`,
    headers: { "content-type": "application/json", ...signatureHeaders([secret], id, raw, at) },
    payload: raw,
  });
};
const shipped = (orderId: string, customerId: string, total = 50, extra: object = {}) => ({
  type: "order.shipped",
  timestamp: new Date().toISOString(),
  data: { orderId, customerId, total, ...extra },
});

test("a signed order event becomes one Telegram message; its duplicate nothing; a condition that fails nothing", async () => {
  assert.equal((await post(shipped("A-1", "tg-only"), "evt-1")).statusCode, 202);
  const duplicate = await post(shipped("A-1", "tg-only"), "evt-1");
  assert.equal(duplicate.statusCode, 202);
  assert.equal(duplicate.json().duplicate, true);
  const sent = await stack.telegram.waitFor((c) => c.method === "sendMessage" && String(c.params.chat_id) === "9001");
  assert.equal(sent.params.text, "Order A-1 has shipped 🚚");
  assert.equal((await post(shipped("A-2", "tg-only", 5), "evt-2")).statusCode, 202);
  await sleep(800);
  assert.equal(stack.telegram.calls.filter((c) => String(c.params.chat_id) === "9001").length, 1);
  const notification = await stack.t.db.notification.findFirstOrThrow({ where: { orderEvent: { eventId: "evt-1" } } });
  assert.equal(notification.status, "sent");
});

test("WhatsApp: an approved template outside the 24-hour window, free text inside it", async () => {
  await post(shipped("W-1", "wa"), "evt-w1");
  const template = await stack.graph.waitFor((c) => c.platform === "whatsapp" && c.body.to === "4915122222222");
  assert.deepEqual(template.body.template, {
    name: "order_shipped",
    language: { code: "en_US" },
    components: [{ type: "body", parameters: [{ type: "text", text: "W-1" }] }],
  });
  await stack.t.db.conversation.updateMany({
    where: { channelAccountId: stack.whatsappAccountId, externalId: "4915122222222" },
    data: { lastInboundAt: new Date() },
  });
  await post(shipped("W-2", "wa"), "evt-w2");
  const text = await stack.graph.waitFor(
    (c) => c.platform === "whatsapp" && c.body.to === "4915122222222" && c.body.type === "text",
  );
  assert.equal(text.body.text.body, "Order W-2 has shipped 🚚");
});

test("Messenger outside the window goes with the rule's message tag", async () => {
  await post(shipped("F-1", "fb"), "evt-f1");
  const tagged = await stack.graph.waitFor((c) => c.platform === "messenger" && c.body.recipient.id === "PSID-77");
  assert.deepEqual(
    [tagged.body.messaging_type, tagged.body.tag, tagged.body.message.text],
    ["MESSAGE_TAG", "POST_PURCHASE_UPDATE", "Order F-1 has shipped 🚚"],
  );
});

test("Slack has no window: the text goes straight to the customer's DM channel", async () => {
  await post(shipped("L-1", "sl"), "evt-l1");
  const sent = await stack.slack.waitFor((c) => c.args.channel === "D-SLACK-1");
  assert.equal(sent.args.text, "Order L-1 has shipped 🚚");
});

test("no rule-abiding path: skipped with every channel's reason", async () => {
  await stack.t.db.contact.create({ data: { tenantId: stack.tenantId, customerId: "nowhere" } });
  await post(shipped("N-1", "nowhere"), "evt-n1");
  for (let i = 0; i < 100; i++) {
    const n = await stack.t.db.notification.findFirst({ where: { orderEvent: { eventId: "evt-n1" } } });
    if (n && n.status !== "queued") {
      assert.equal(n.status, "skipped");
      assert.equal(
        n.reason,
        "whatsapp: not reachable there; messenger: not reachable there; telegram: not reachable there; slack: not reachable there",
      );
      return;
    }
    await sleep(50);
  }
  assert.fail("not handled");
});

test("events of one order out of order: the older one is stored but never notified", async () => {
  const newer = {
    type: "order.delivered",
    timestamp: "2026-11-24T12:00:00Z",
    data: { orderId: "O-9", phone: "+49 151 11111111", sequence: 2 },
  };
  const older = {
    type: "order.delivered",
    timestamp: "2026-11-24T11:00:00Z",
    data: { orderId: "O-9", phone: "+49 151 11111111", sequence: 1 },
  };
  assert.equal((await post(newer, "evt-o2")).json().stale, undefined);
  assert.equal((await post(older, "evt-o1")).json().stale, true);
  await stack.telegram.waitFor((c) => c.params.text === "Order O-9 was delivered");
  await sleep(500);
  assert.equal(stack.telegram.calls.filter((c) => c.params.text === "Order O-9 was delivered").length, 1);
});

test("a customer who writes STOP is skipped until START", async () => {
  await stack.post(textUpdate("STOP", 9001));
  await stack.telegram.waitFor(
    (c) => String(c.params.chat_id) === "9001" && String(c.params.text).startsWith("You won't get notifications"),
  );
  await post(shipped("S-1", "tg-only"), "evt-s1");
  const skipped = await (async () => {
    for (let i = 0; i < 100; i++) {
      const n = await stack.t.db.notification.findFirst({ where: { orderEvent: { eventId: "evt-s1" } } });
      if (n && n.status !== "queued") return n;
      await sleep(50);
    }
    throw new Error("not handled");
  })();
  assert.deepEqual([skipped.status, skipped.reason], ["skipped", "the contact opted out"]);
  await stack.post(textUpdate("start", 9001));
  await stack.telegram.waitFor(
    (c) => String(c.params.chat_id) === "9001" && String(c.params.text).startsWith("Notifications are back on"),
  );
  await post(shipped("S-2", "tg-only"), "evt-s2");
  await stack.telegram.waitFor((c) => c.params.text === "Order S-2 has shipped 🚚");
});

test("CloudEvents with an events-scoped API key; bad signatures, stale timestamps and bad bodies are 4xx and store nothing", async () => {
  const ce = {
    specversion: "1.0",
    id: "ce-1",
    source: "/orders",
    type: "order.delivered",
    subject: "O-77",
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: { orderId: "O-77", phone: "+4915111111111" },
  };
  const accepted = await stack.app.inject({
    method: "POST",
    url: `/v1/tenants/${stack.tenantId}/events`,
    headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${apiKey}` },
    payload: JSON.stringify(ce),
  });
  assert.equal(accepted.statusCode, 202, accepted.body);
  await stack.telegram.waitFor((c) => c.params.text === "Order O-77 was delivered");

  // Binary mode: the attributes in ce-* headers, the data as the body.
  const binary = await stack.app.inject({
    method: "POST",
    url: `/v1/tenants/${stack.tenantId}/events`,
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${apiKey}`,
      "ce-specversion": "1.0",
      "ce-id": "ce-bin-1",
      "ce-source": "/orders",
      "ce-type": "order.delivered",
      "ce-subject": "O-78",
      "ce-time": new Date().toISOString(),
    },
    payload: JSON.stringify({ orderId: "O-78", phone: "+4915111111111" }),
  });
  assert.equal(binary.statusCode, 202, binary.body);
  await stack.telegram.waitFor((c) => c.params.text === "Order O-78 was delivered");

  const before = await stack.t.db.orderEvent.count();
  const raw = JSON.stringify(shipped("X-1", "tg-only"));
  const forged = await stack.app.inject({
    method: "POST",
    url: `/v1/tenants/${stack.tenantId}/events`,
    headers: { "content-type": "application/json", ...signatureHeaders([generateSigningSecret()], "evt-x1", raw) },
    payload: raw,
  });
  assert.equal(forged.statusCode, 401);
  assert.equal(
    (await post(shipped("X-2", "tg-only"), "evt-x2", new Date(Date.now() - 10 * 60_000))).statusCode,
    401,
    "older than five minutes",
  );
  const noType = await post({ data: { orderId: "X-3" } }, "evt-x3");
  assert.equal(noType.statusCode, 400);
  assert.equal(noType.json().error.code, "invalid_event");
  const badCe = await stack.app.inject({
    method: "POST",
    url: `/v1/tenants/${stack.tenantId}/events`,
    headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${apiKey}` },
    payload: JSON.stringify({ id: "ce-2", type: "x" }),
  });
  assert.equal(badCe.statusCode, 400);
  const noKey = await stack.app.inject({
    method: "POST",
    url: `/v1/tenants/${stack.tenantId}/events`,
    headers: { "content-type": "application/cloudevents+json" },
    payload: JSON.stringify(ce),
  });
  assert.equal(noKey.statusCode, 401);
  assert.equal(await stack.t.db.orderEvent.count(), before);
});

test("quiet hours in the tenant's time zone defer until they end", () => {
  const settings = { quietHours: { start: "22:00", end: "08:00" } };
  assert.equal(
    quietUntil(settings, "Europe/Berlin", new Date("2026-11-24T22:30:00Z"))?.toISOString(),
    "2026-11-25T07:00:00.000Z",
    "23:30 in Berlin: until 08:00 Berlin",
  );
  assert.equal(
    quietUntil(settings, "Europe/Berlin", new Date("2026-11-24T05:00:00Z"))?.toISOString(),
    "2026-11-24T07:00:00.000Z",
  );
  assert.equal(quietUntil(settings, "Europe/Berlin", new Date("2026-11-24T12:00:00Z")), null);
  assert.equal(quietUntil({}, "Europe/Berlin", new Date()), null);
});
