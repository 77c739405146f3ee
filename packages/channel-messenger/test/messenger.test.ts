import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PlatformError, type ChannelAccount, type InboundEvent } from "@cb/core";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { hubSignature } from "@cb/meta-graph";
import Fastify, { type FastifyInstance } from "fastify";
import { createMessengerSender, messengerDriver, normalizeEvent, normalizeWebhook, renderReply } from "../src/index.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
const account: ChannelAccount = {
  id: "7a1d6a8e-0000-4000-8000-000000000001",
  tenantId: "t",
  channel: "messenger",
  config: { pageId: "1895382890692545" },
  secrets: { pageAccessToken: "EAA-page-token", appSecret: "page-app-secret", verifyToken: "v" },
};
let graph: FakeGraph;
let app: FastifyInstance;
const ingested: InboundEvent[][] = [];

before(async () => {
  graph = await startFakeGraph();
  graph.addPageToken("EAA-page-token");
  app = Fastify();
  await app.register(messengerDriver.webhook, {
    prefix: "/webhooks/messenger",
    loadAccount: async (id) => (id === account.id ? account : null),
    ingest: async (_a, e) => void ingested.push(e),
  });
});
after(async () => {
  await graph.close();
  await app.close();
});

test("messages, quick replies, replies and postbacks from Meta's samples", () => {
  const [text] = normalizeWebhook(fixture("inbound_text_envelope.json"));
  assert.ok(text?.type === "message");
  assert.deepEqual(text.message, {
    channel: "messenger",
    platformEventId: "mid.1486464322190:cb04e5a654",
    platformMessageId: "mid.1486464322190:cb04e5a654",
    conversation: { externalId: "1412611362105802", type: "private" },
    sender: { externalId: "1412611362105802" },
    sentAt: new Date(1486464322190).toISOString(),
    addressedToBot: true,
    text: "text",
  });
  const [quick] = normalizeEvent(fixture("docs_messaging_event_text_quick_reply.json"));
  assert.ok(quick?.type === "message");
  assert.deepEqual(quick.message.postback, { payload: "<DEVELOPER_DEFINED_PAYLOAD>", title: "hello, world!" });
  const [reply] = normalizeEvent(fixture("docs_messaging_event_reply_to.json"));
  assert.ok(reply?.type === "message");
  assert.equal(reply.message.replyTo, "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU");
  const [postback] = normalizeWebhook(fixture("inbound_postback_envelope.json"));
  assert.ok(postback?.type === "message");
  assert.deepEqual(postback.message.postback, { payload: "USER_DEFINED_PAYLOAD", title: "title" });
  assert.equal(postback.message.platformEventId, "m_1457764197618:41d102a3e1ae206a38");
});

test("deliveries update each message; reads move a watermark; echoes are ignored", () => {
  const delivered = normalizeEvent(fixture("docs_messaging_event_delivery.json"));
  assert.deepEqual(
    delivered.map((e) => e.type === "status" && [e.status.platformMessageId, e.status.state]),
    [["mid.1458668856218:ed81099e15d3f4f233", "delivered"]],
  );
  const [read] = normalizeEvent(fixture("docs_messaging_event_read.json"));
  assert.ok(read?.type === "read");
  assert.deepEqual(read.read, {
    channel: "messenger",
    conversationExternalId: "<PSID>",
    upTo: new Date(1458668856253).toISOString(),
  });
  assert.deepEqual(
    normalizeEvent({
      sender: { id: "page" },
      recipient: { id: "user" },
      timestamp: 1,
      message: { mid: "m1", text: "bot said", is_echo: true },
    }),
    [],
  );
});

test("rendering follows Messenger's limits and matches its documented shapes", () => {
  assert.deepEqual(renderReply({ type: "text", text: "Hello!" }), [fixture("outbound_text.json").message]);
  const [template] = renderReply({
    type: "buttons",
    text: "What do you want to do next?",
    buttons: [
      { type: "url", title: "Visit Messenger", url: "https://www.messenger.com" },
      { type: "url", title: "Visit Facebook", url: "https://www.facebook.com" },
    ],
  });
  assert.deepEqual(template, fixture("outbound_button_template.json").message);
  const quick = renderReply({
    type: "text",
    text: "Pick",
    quickReplies: Array.from({ length: 15 }, (_, i) => ({ title: `A very long quick reply ${i}`, payload: `q${i}` })),
  });
  const replies = quick[0]!.quick_replies as { title: string }[];
  assert.equal(replies.length, 13);
  assert.ok(replies.every((r) => [...r.title].length <= 20));
  const cards = renderReply({
    type: "cards",
    cards: Array.from({ length: 12 }, (_, i) => ({
      title: `Card ${i}`,
      buttons: [{ type: "postback" as const, title: "Buy", payload: `b${i}` }],
    })),
  });
  assert.equal(cards.length, 2, "ten elements per carousel");
  const five = renderReply({
    type: "buttons",
    text: "Choose",
    buttons: Array.from({ length: 5 }, (_, i) => ({ type: "postback" as const, title: `Opt ${i}`, payload: `o${i}` })),
  });
  assert.equal((five[0]!.quick_replies as unknown[]).length, 5, "more than three postbacks become quick replies");
});

test("a signed webhook reaches ingest; a wrong signature is refused", async () => {
  const body = Buffer.from(JSON.stringify(fixture("inbound_text_envelope.json")));
  const post = (signature: string) =>
    app.inject({
      method: "POST",
      url: `/webhooks/messenger/${account.id}`,
      headers: { "content-type": "application/json", "x-hub-signature-256": signature },
      payload: body,
    });
  assert.equal((await post(hubSignature(body, "another-secret"))).statusCode, 401);
  assert.equal(ingested.length, 0);
  assert.equal((await post(hubSignature(body, "page-app-secret"))).statusCode, 200);
  assert.equal(ingested.length, 1);
});

test("the Send API: RESPONSE inside the window, MESSAGE_TAG with a tag, errors as PlatformErrors", async () => {
  const sender = createMessengerSender(account, { GRAPH_API_BASE_URL: graph.url });
  const to = { externalId: "1412611362105802", type: "private" as const };
  const [sent] = await sender.send(to, {
    type: "cards",
    cards: [
      {
        title: "Blue shoes",
        subtitle: "€49",
        imageUrl: "https://img.example/s.jpg",
        buttons: [{ type: "postback", title: "Buy", payload: "buy" }],
      },
    ],
  });
  assert.match(sent!.platformMessageId, /^m_fake/);
  assert.equal(graph.calls.at(-1)!.body.messaging_type, "RESPONSE");
  await sender.send(to, { type: "text", text: "Your order shipped" }, { messageTag: "POST_PURCHASE_UPDATE" });
  assert.deepEqual(
    [graph.calls.at(-1)!.body.messaging_type, graph.calls.at(-1)!.body.tag],
    ["MESSAGE_TAG", "POST_PURCHASE_UPDATE"],
  );
  graph.failNext({ status: 400, code: 10, message: "(#10) This message is sent outside of allowed window." });
  const outside = await sender.send(to, { type: "text", text: "late" }).catch((e: unknown) => e);
  assert.ok(outside instanceof PlatformError && !outside.retryable && outside.code === "10");
  graph.failNext({ status: 500, code: 2, message: "Service temporarily unavailable" });
  const down = await sender.send(to, { type: "text", text: "x" }).catch((e: unknown) => e);
  assert.ok(down instanceof PlatformError && down.retryable);
});
