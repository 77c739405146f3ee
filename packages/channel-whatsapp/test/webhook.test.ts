import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  PlatformError,
  postgresSendLimits,
  type ChannelAccount,
  type InboundEvent,
  type Reply,
  type SendLimits,
} from "@cb/core";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { hubSignature, hubSignatureValid } from "@cb/meta-graph";
import Fastify, { type FastifyInstance } from "fastify";
import { createSender, downloadMedia, driver } from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";

// The platforms' limits live in PostgreSQL, shared as between worker processes.
let limitsDb: TestDatabase;
let limits: SendLimits;
before(async () => {
  limitsDb = await createTestDatabase();
  limits = postgresSendLimits(limitsDb.pool);
});
after(() => limitsDb.drop());

const raw = readFileSync(new URL("./fixtures/inbound_text.json", import.meta.url));
const vector = JSON.parse(readFileSync(new URL("./fixtures/signature_test_vector.json", import.meta.url), "utf8"));
const account: ChannelAccount = {
  id: "6f1d6a8e-0000-4000-8000-000000000001",
  tenantId: "t",
  channel: "whatsapp",
  config: { phoneNumberId: "1122334455667" },
  secrets: { accessToken: "EAAG-wa-token", appSecret: "test_app_secret", verifyToken: "verify-me" },
};
const ingested: InboundEvent[][] = [];
let app: FastifyInstance;
let graph: FakeGraph;
const env = () => ({ GRAPH_API_BASE_URL: graph.url, GRAPH_API_VERSION: "v21.0" });

before(async () => {
  app = Fastify();
  await app.register(driver.webhook, {
    prefix: "/webhooks/whatsapp",
    loadAccount: async (id) => (id === account.id ? account : null),
    ingest: async (_a, events) => void ingested.push(events),
  });
  graph = await startFakeGraph();
  graph.addPhoneNumber("1122334455667", "EAAG-wa-token");
});
after(async () => {
  await app.close();
  await graph.close();
});

test("X-Hub-Signature-256: the genuine request verifies; a tampered byte or a wrong secret does not", () => {
  assert.ok(hubSignatureValid(raw, vector["x-hub-signature-256"], "test_app_secret"));
  const tampered = Buffer.from(raw);
  tampered[tampered.length - 5]! ^= 1;
  assert.ok(!hubSignatureValid(tampered, vector["x-hub-signature-256"], "test_app_secret"));
  assert.ok(!hubSignatureValid(raw, vector["x-hub-signature-256"], "wrong_secret"));
  assert.ok(!hubSignatureValid(raw, undefined, "test_app_secret"));
  assert.ok(
    hubSignatureValid(
      Buffer.from('{"object":"whatsapp_business_account","entry":[{"id":"0","changes":[]}]}'),
      "sha256=a37fa64f5d8354b552710ad1f2231eabc431936f4cb824b5dc6390568a05dede",
      "test_app_secret",
    ),
  );
});

test("the verification handshake answers the challenge only for the right verify token", async () => {
  const url = (token: string) =>
    `/webhooks/whatsapp/${account.id}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=1158201444`;
  const ok = await app.inject(url("verify-me"));
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.body, "1158201444");
  assert.equal((await app.inject(url("wrong"))).statusCode, 403);
  assert.equal(
    (
      await app.inject(
        `/webhooks/whatsapp/6f1d6a8e-0000-4000-8000-00000000ffff?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1`,
      )
    ).statusCode,
    404,
  );
});

test("a signed webhook is normalized and ingested; unsigned or tampered ones are refused before anything", async () => {
  const post = (body: Buffer, signature?: string) =>
    app.inject({
      method: "POST",
      url: `/webhooks/whatsapp/${account.id}`,
      headers: { "content-type": "application/json", ...(signature ? { "x-hub-signature-256": signature } : {}) },
      payload: body,
    });
  assert.equal((await post(raw)).statusCode, 401);
  assert.equal((await post(Buffer.concat([raw, Buffer.from(" ")]), vector["x-hub-signature-256"])).statusCode, 401);
  assert.equal(ingested.length, 0);
  assert.equal((await post(raw, vector["x-hub-signature-256"])).statusCode, 200);
  assert.equal(ingested.length, 1);
  assert.equal((ingested[0]![0] as Extract<InboundEvent, { type: "message" }>).message.text, "Body Text");
  const page = Buffer.from('{"object":"page","entry":[]}');
  assert.equal((await post(page, hubSignature(page, "test_app_secret"))).statusCode, 400);
});

test("the sender posts Cloud API messages the (strict) fake accepts, quoting the message answered", async () => {
  const sender = createSender(account, env(), limits);
  const sent = await sender.send(
    { externalId: "972987654321", type: "private" },
    {
      type: "text",
      text: "Pick one",
      quickReplies: [
        { title: "Yes", payload: "yes" },
        { title: "No", payload: "no" },
      ],
    },
    {
      inReplyTo: {
        channel: "whatsapp",
        platformEventId: "wamid.in",
        platformMessageId: "wamid.in",
        conversation: { externalId: "972987654321", type: "private" },
        sender: { externalId: "972987654321" },
        sentAt: new Date().toISOString(),
        text: "hi",
      },
    },
  );
  assert.match(sent[0]!.platformMessageId, /^wamid\./);
  const call = graph.calls.at(-1)!;
  assert.equal(call.path, "/v21.0/1122334455667/messages");
  assert.equal(call.body.to, "972987654321");
  assert.equal(call.body.type, "interactive");
  assert.deepEqual(call.body.context, { message_id: "wamid.in" });
});

test("errors: 429 and rate-limit codes are retryable with Retry-After; 131047 and expired tokens are permanent", async () => {
  const sender = createSender(account, env(), limits);
  const to = { externalId: "972987654321", type: "private" as const };
  graph.failNext({ status: 429, code: 130429, message: "Rate limit hit", retryAfter: 3 });
  const limited = await sender.send(to, { type: "text", text: "x" }).catch((e: unknown) => e);
  assert.ok(
    limited instanceof PlatformError && limited.retryable && limited.retryAfterMs === 3000 && limited.code === "130429",
  );
  graph.failNext({ status: 400, code: 131047, message: "Re-engagement message" });
  const window = await sender.send(to, { type: "text", text: "x" }).catch((e: unknown) => e);
  assert.ok(window instanceof PlatformError && !window.retryable && window.code === "131047");
  const expired = await createSender({ ...account, secrets: { ...account.secrets, accessToken: "old" } }, env(), limits)
    .send(to, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(expired instanceof PlatformError && expired.code === "190" && !expired.retryable);
  const tooMany = await sender
    .send(to, {
      type: "custom",
      channel: "whatsapp",
      payload: {
        type: "interactive",
        interactive: {
          type: "button",
          body: { text: "x" },
          action: { buttons: [1, 2, 3, 4].map((i) => ({ type: "reply", reply: { id: `b${i}`, title: `B${i}` } })) },
        },
      },
    })
    .catch((e: unknown) => e);
  assert.ok(
    tooMany instanceof PlatformError && tooMany.code === "100",
    "the fake refuses four buttons as WhatsApp does",
  );
});

test("media a customer sent is downloaded on demand through the Graph API", async () => {
  graph.addMedia("65463453", "image/jpeg", Buffer.from("jpeg-bytes"));
  const media = await downloadMedia(account, env(), "65463453");
  assert.equal(media.mimeType, "image/jpeg");
  assert.equal(media.data.toString(), "jpeg-bytes");
});

test("every kind of reply is accepted by the strict fake; button presses are answered without quoting them", async () => {
  const sender = driver.createSender(account, env(), limits);
  assert.equal(driver.name, "whatsapp");
  assert.notEqual(sender.reportsDelivery, false, "WhatsApp reports delivery by message id");
  const to = { externalId: "972987654321", type: "private" as const };
  const link = (title: string) => ({ type: "url" as const, title, url: `https://shop.example/${title}` });
  const replies: Reply[] = [
    { type: "text", text: "word ".repeat(2000) },
    { type: "text", text: "", quickReplies: [{ title: "Yes", payload: "yes" }] },
    {
      type: "text",
      text: "x".repeat(1500),
      quickReplies: Array.from({ length: 10 }, (_, i) => ({
        title: `A long option title number ${i}`,
        payload: `p${i}`,
      })),
    },
    {
      type: "text",
      text: "Pick",
      quickReplies: Array.from({ length: 12 }, (_, i) => ({ title: `O${i}`, payload: `p${i}` })),
    },
    { type: "buttons", text: "", buttons: [link("Track")] },
    {
      type: "buttons",
      text: "Links",
      buttons: [link("A"), link("B"), { type: "postback", title: "Cancel", payload: "c" }],
    },
    {
      type: "cards",
      cards: [
        { title: "Shoe", subtitle: "€49", imageUrl: "https://img.example/s.jpg", buttons: [link("Buy")] },
        { title: "Hat", subtitle: "s".repeat(2000), imageUrl: "https://img.example/h.jpg" },
        { title: "Scarf", imageUrl: "https://img.example/c.jpg", buttons: [link("One"), link("Two")] },
        {
          title: "Bag",
          imageUrl: "https://img.example/b.jpg",
          buttons: [{ type: "postback", title: "Buy", payload: "b" }],
        },
      ],
    },
    { type: "image", url: "https://img.example/a.jpg", caption: "😀".repeat(1100) },
    { type: "template", name: "order_update", language: "en" },
    { type: "custom", channel: "whatsapp", payload: { type: "text", text: { body: "raw" } } },
  ];
  const from = graph.calls.length;
  const pressed = {
    channel: "whatsapp" as const,
    platformEventId: "wamid.press",
    platformMessageId: "wamid.press",
    conversation: to,
    sender: { externalId: to.externalId },
    sentAt: new Date().toISOString(),
    postback: { payload: "yes" },
  };
  const sent = [];
  for (const reply of replies) sent.push(...(await sender.send(to, reply, { inReplyTo: pressed })));
  const calls = graph.calls.slice(from);
  assert.deepEqual(
    calls.map((c) => c.body.type),
    [
      ...["text", "text", "text"], // 10,000 characters
      "interactive", // no text: "Choose one:"
      ...["text", "interactive"], // text too long for a body, then the list
      "text", // twelve choices, numbered
      "interactive", // one link: a CTA button
      "interactive", // links in the body, the postback a button
      ...["interactive", "image", "image", "interactive"], // the four cards
      "image",
      "template",
      "text",
    ],
  );
  assert.ok(calls.every((c) => c.body.context === undefined && c.body.recipient_type === "individual"));
  assert.deepEqual(
    sent.map((s) => s.platformMessageId),
    calls.map((c) => c.id),
  );
});

test("5xx is retryable; an unreachable Graph API is a retryable network error", async () => {
  const sender = createSender(account, env(), limits);
  const to = { externalId: "972987654321", type: "private" as const };
  graph.failNext({ status: 503, code: 2, message: "Service temporarily unavailable" });
  const down = await sender.send(to, { type: "text", text: "x" }).catch((e: unknown) => e);
  assert.ok(down instanceof PlatformError);
  assert.deepEqual([down.platform, down.code, down.retryable, down.retryAfterMs], ["whatsapp", "2", true, undefined]);
  // A send with context but no message to answer (a notification) quotes nothing.
  await sender.send(to, { type: "text", text: "Your order shipped" }, { messageTag: "POST_PURCHASE_UPDATE" });
  assert.equal(graph.calls.at(-1)!.body.context, undefined);
  const closed = await startFakeGraph();
  const url = closed.url;
  await closed.close();
  const unreachable = await createSender(account, { GRAPH_API_BASE_URL: url }, limits)
    .send(to, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(unreachable instanceof PlatformError);
  assert.deepEqual([unreachable.platform, unreachable.code, unreachable.retryable], ["whatsapp", "network", true]);
});
