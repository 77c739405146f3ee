import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PlatformError, type ChannelAccount, type InboundEvent, type Reply, type SendLimits } from "@cb/core";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { hubSignature } from "@cb/meta-graph";
import Fastify, { type FastifyInstance } from "fastify";
import { createSender, driver, normalize, render } from "../src/index.ts";
import { normalizeEvent } from "../src/normalize.ts";
import { twoWorkersSendLimits, type TwoWorkers } from "@cb/core/testing";

// The platforms' limits live in PostgreSQL; a second pool with limits of its own is a second worker.
let workers: TwoWorkers;
let limits: SendLimits;
let otherWorker: SendLimits;
before(async () => {
  workers = await twoWorkersSendLimits();
  ({ limits, otherWorker } = workers);
});
after(() => workers.close());

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
  await app.register(driver.webhook, {
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
  const [text] = normalize(fixture("inbound_text_envelope.json"));
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
  const [postback] = normalize(fixture("inbound_postback_envelope.json"));
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
  assert.deepEqual(render({ type: "text", text: "Hello!" }), [fixture("outbound_text.json").message]);
  const [template] = render({
    type: "buttons",
    text: "What do you want to do next?",
    buttons: [
      { type: "url", title: "Visit Messenger", url: "https://www.messenger.com" },
      { type: "url", title: "Visit Facebook", url: "https://www.facebook.com" },
    ],
  });
  assert.deepEqual(template, fixture("outbound_button_template.json").message);
  const quick = render({
    type: "text",
    text: "Pick",
    quickReplies: Array.from({ length: 15 }, (_, i) => ({ title: `A very long quick reply ${i}`, payload: `q${i}` })),
  });
  const replies = quick[0]!.quick_replies as { title: string }[];
  assert.equal(replies.length, 13);
  assert.ok(replies.every((r) => [...r.title].length <= 20));
  const cards = render({
    type: "cards",
    cards: Array.from({ length: 12 }, (_, i) => ({
      title: `Card ${i}`,
      buttons: [{ type: "postback" as const, title: "Buy", payload: `b${i}` }],
    })),
  });
  assert.equal(cards.length, 2, "ten elements per carousel");
  const five = render({
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
  assert.equal((await post("sha256=")).statusCode, 401);
  const unsigned = await app.inject({
    method: "POST",
    url: `/webhooks/messenger/${account.id}`,
    headers: { "content-type": "application/json" },
    payload: body,
  });
  assert.equal(unsigned.statusCode, 401);
  const whatsapp = Buffer.from('{"object":"whatsapp_business_account","entry":[]}');
  const wrongObject = await app.inject({
    method: "POST",
    url: `/webhooks/messenger/${account.id}`,
    headers: { "content-type": "application/json", "x-hub-signature-256": hubSignature(whatsapp, "page-app-secret") },
    payload: whatsapp,
  });
  assert.equal(wrongObject.statusCode, 400, "another platform's body, though signed");
  const handshake = (token: string) =>
    app.inject(`/webhooks/messenger/${account.id}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=42`);
  assert.equal((await handshake("wrong")).statusCode, 403);
  assert.equal((await handshake("v")).body, "42");
  assert.equal(ingested.length, 0);
  assert.equal((await post(hubSignature(body, "page-app-secret"))).statusCode, 200);
  assert.equal(ingested.length, 1);
});

test("the Send API: RESPONSE inside the window, MESSAGE_TAG with a tag, errors as PlatformErrors", async () => {
  const sender = createSender(account, { GRAPH_API_BASE_URL: graph.url }, limits);
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
  assert.equal(outside.platform, "messenger");
  graph.failNext({ status: 500, code: 2, message: "Service temporarily unavailable" });
  const down = await sender.send(to, { type: "text", text: "x" }).catch((e: unknown) => e);
  assert.ok(down instanceof PlatformError && down.retryable);
});

const user = { sender: { id: "1412611362105802" }, recipient: { id: "1895382890692545" }, timestamp: 1700000000000 };
const only = (events: InboundEvent[]) => {
  assert.equal(events.length, 1);
  assert.ok(events[0]!.type === "message");
  return events[0]!.message;
};

test("attachments: media of every kind, shared locations; other kinds carry nothing", () => {
  const m = only(
    normalizeEvent({
      ...user,
      message: {
        mid: "m_att",
        attachments: [
          { type: "image", payload: { url: "https://cdn.example/i.jpg" } },
          { type: "audio", payload: { url: "https://cdn.example/a.mp4" } },
          { type: "video", payload: { url: "https://cdn.example/v.mp4" } },
          { type: "file", payload: { url: "https://cdn.example/f.pdf" } },
          { type: "image" },
          { type: "fallback", payload: { url: "https://shared.example", title: "A link" } },
          { type: "location", payload: { coordinates: { lat: 52.5, long: 13.4 }, title: "Shop" } },
        ],
      },
    }),
  );
  assert.deepEqual(m, {
    channel: "messenger",
    platformEventId: "m_att",
    platformMessageId: "m_att",
    conversation: { externalId: "1412611362105802", type: "private" },
    sender: { externalId: "1412611362105802" },
    sentAt: new Date(1700000000000).toISOString(),
    addressedToBot: true,
    media: [
      { kind: "image", url: "https://cdn.example/i.jpg" },
      { kind: "audio", url: "https://cdn.example/a.mp4" },
      { kind: "video", url: "https://cdn.example/v.mp4" },
      { kind: "document", url: "https://cdn.example/f.pdf" },
      { kind: "image" },
    ],
    location: { latitude: 52.5, longitude: 13.4, name: "Shop" },
  });
  const located = only(
    normalizeEvent({
      ...user,
      message: { mid: "m_loc", attachments: [{ type: "location", payload: { coordinates: { lat: 1, long: 2 } } }] },
    }),
  );
  assert.deepEqual(located.location, { latitude: 1, longitude: 2 });
  assert.equal("media" in located, false);
  const nothing = only(normalizeEvent({ ...user, message: { mid: "m_x", attachments: [{ type: "location" }] } }));
  assert.equal("location" in nothing, false);
  assert.equal("text" in nothing, false);
});

test("postbacks without a mid get a stable id; a sender known only by user_ref, or no event at all, yields nothing", () => {
  const old = only(normalizeEvent({ ...user, postback: { payload: "GET_STARTED" } }));
  assert.equal(old.platformEventId, "postback:1412611362105802:1700000000000");
  assert.deepEqual(old.postback, { payload: "GET_STARTED" });
  const quick = only(normalizeEvent({ ...user, message: { mid: "m_q", quick_reply: { payload: "RED" } } }));
  assert.deepEqual(quick.postback, { payload: "RED" }, "a quick reply with no text has no title");
  // The App Dashboard's test notification: the sender is a plugin's user_ref, not a PSID.
  assert.deepEqual(normalizeEvent(fixture("docs_messaging_postbacks_test_notification.json").value), []);
  assert.deepEqual(normalizeEvent({ ...user, delivery: { watermark: 1 } }), [], "a delivery naming no message");
  assert.deepEqual(normalizeEvent(user), []);
  assert.deepEqual(normalizeEvent({ recipient: user.recipient, message: { mid: "m_anon", text: "?" } } as never), []);
  assert.deepEqual(normalize({ object: "page", entry: [{ id: "1" }] }), []);
  assert.deepEqual(normalize({}), []);
  const twoEntries = normalize({
    object: "page",
    entry: [
      {
        messaging: [
          { ...user, message: { mid: "m1", text: "a" } },
          { ...user, message: { mid: "m2", text: "b" } },
        ],
      },
      { messaging: [{ ...user, read: { watermark: 5 } }] },
    ],
  });
  assert.deepEqual(
    twoEntries.map((e) => e.type),
    ["message", "message", "read"],
  );
  const delivered = normalizeEvent({ ...user, delivery: { mids: ["m1", "m2"], watermark: 1700000000500 } });
  assert.deepEqual(delivered, [
    {
      type: "status",
      status: {
        channel: "messenger",
        platformMessageId: "m1",
        state: "delivered",
        at: new Date(1700000000500).toISOString(),
      },
      raw: { ...user, delivery: { mids: ["m1", "m2"], watermark: 1700000000500 } },
    },
    {
      type: "status",
      status: {
        channel: "messenger",
        platformMessageId: "m2",
        state: "delivered",
        at: new Date(1700000000500).toISOString(),
      },
      raw: { ...user, delivery: { mids: ["m1", "m2"], watermark: 1700000000500 } },
    },
  ]);
});

test("buttons at Messenger's edges: 3 in a template of up to 640 characters; beyond, quick replies or more templates", () => {
  const postbacks = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ type: "postback" as const, title: `Opt ${i}`, payload: `o${i}` }));
  const links = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ type: "url" as const, title: `Link ${i}`, url: `https://l.example/${i}` }));
  const template = (text: string, buttons: unknown[]) => ({
    attachment: { type: "template", payload: { template_type: "button", text, buttons } },
  });
  const asButtons = (bs: ReturnType<typeof postbacks>) =>
    bs.map((b) => ({ type: "postback", title: b.title, payload: b.payload }));
  assert.deepEqual(render({ type: "buttons", text: "t".repeat(640), buttons: postbacks(3) }), [
    template("t".repeat(640), asButtons(postbacks(3))),
  ]);
  const quick = (text: string, n: number) => [
    {
      text,
      quick_replies: postbacks(n).map((b) => ({ content_type: "text", title: b.title, payload: b.payload })),
    },
  ];
  assert.deepEqual(
    render({ type: "buttons", text: "t".repeat(641), buttons: postbacks(3) }),
    quick("t".repeat(641), 3),
  );
  assert.deepEqual(render({ type: "buttons", text: "Pick", buttons: postbacks(13) }), quick("Pick", 13));
  // Fourteen postbacks, or links that cannot be quick replies: the text, then templates of three.
  const many = render({ type: "buttons", text: "Pick", buttons: postbacks(14) });
  assert.deepEqual(many, [
    { text: "Pick" },
    ...[0, 3, 6, 9, 12].map((from) => template("More options:", asButtons(postbacks(14).slice(from, from + 3)))),
  ]);
  assert.deepEqual(
    render({ type: "buttons", text: "Go", buttons: links(6) }).map((m) => m.text ?? "template"),
    ["Go", "template", "template"],
    "six links: two templates, none empty",
  );
  const mixed = render({ type: "buttons", text: "Go", buttons: [...links(4), ...postbacks(1)] });
  assert.deepEqual(
    mixed.map((m) => (m.attachment as { payload: { buttons: unknown[] } } | undefined)?.payload.buttons.length ?? 0),
    [0, 3, 2],
  );
  const long = "x".repeat(30);
  const [truncated] = render({
    type: "buttons",
    text: "Go",
    buttons: [{ type: "url", title: long, url: "https://x.example" }],
  });
  assert.deepEqual(
    truncated,
    template("Go", [{ type: "web_url", url: "https://x.example", title: `${"x".repeat(19)}…` }]),
  );
  // Buttons and quick replies always have words beside them; no buttons is plain text.
  assert.deepEqual(render({ type: "buttons", text: " ", buttons: postbacks(1) }), [
    template("Choose one:", asButtons(postbacks(1))),
  ]);
  assert.deepEqual(render({ type: "buttons", text: "", buttons: postbacks(1) }), [
    template("Choose one:", asButtons(postbacks(1))),
  ]);
  assert.deepEqual(render({ type: "text", text: " ", quickReplies: [{ title: "Yes", payload: "y" }] }), [
    { text: "Choose one:", quick_replies: [{ content_type: "text", title: "Yes", payload: "y" }] },
  ]);
  assert.deepEqual(render({ type: "buttons", text: "Hi", buttons: [] }), [{ text: "Hi" }]);
  // Long text: 2000 characters a message, the quick replies on the last.
  const parts = render({
    type: "text",
    text: "word ".repeat(1000),
    quickReplies: [{ title: "OK", payload: "ok" }],
  });
  assert.equal(parts.length, 3);
  assert.ok(parts.every((p) => [...String(p.text)].length <= 2000));
  assert.deepEqual(
    parts.map((p) => "quick_replies" in p),
    [false, false, true],
  );
});

test("cards, images, custom payloads and templates", () => {
  const [carousel] = render({
    type: "cards",
    cards: [
      {
        title: "T".repeat(100),
        subtitle: "S".repeat(100),
        imageUrl: "https://img.example/a.jpg",
        buttons: Array.from({ length: 4 }, (_, i) => ({ type: "postback" as const, title: `B${i}`, payload: `b${i}` })),
      },
      { title: "Plain" },
      { title: "No buttons", buttons: [] },
    ],
  });
  assert.deepEqual(carousel, {
    attachment: {
      type: "template",
      payload: {
        template_type: "generic",
        elements: [
          {
            title: `${"T".repeat(79)}…`,
            subtitle: `${"S".repeat(79)}…`,
            image_url: "https://img.example/a.jpg",
            buttons: [0, 1, 2].map((i) => ({ type: "postback", title: `B${i}`, payload: `b${i}` })),
          },
          { title: "Plain" },
          { title: "No buttons" },
        ],
      },
    },
  });
  const ten = Array.from({ length: 10 }, (_, i) => ({ title: `Card ${i}` }));
  assert.equal(render({ type: "cards", cards: ten }).length, 1, "ten cards fit one carousel");
  const eleven = render({ type: "cards", cards: [...ten, { title: "Card 10" }] });
  assert.deepEqual(
    eleven.map((c) =>
      (c.attachment as { payload: { elements: { title: string }[] } }).payload.elements.map((e) => e.title),
    ),
    [ten.map((c) => c.title), ["Card 10"]],
  );
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.jpg" }), [
    { attachment: { type: "image", payload: { url: "https://img.example/a.jpg", is_reusable: true } } },
  ]);
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.jpg", caption: "Your parcel" })[1], {
    text: "Your parcel",
  });
  const custom = { text: "raw", metadata: "m" };
  assert.deepEqual(render({ type: "custom", channel: "messenger", payload: custom }), [custom]);
  assert.deepEqual(render({ type: "custom", channel: "whatsapp", payload: custom }), []);
  assert.deepEqual(render({ type: "template", name: "order_update", language: "en" }), []);
});

test("every kind of reply is accepted by the strict fake", async () => {
  const sender = driver.createSender(account, { GRAPH_API_BASE_URL: graph.url }, limits);
  assert.equal(driver.name, "messenger");
  const to = { externalId: "1412611362105802", type: "private" as const };
  const postbacks = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      type: "postback" as const,
      title: `A long option title ${i}`,
      payload: `o${i}`,
    }));
  const replies: Reply[] = [
    { type: "text", text: "word ".repeat(1000), quickReplies: postbacks(15) },
    { type: "buttons", text: "", buttons: postbacks(2) },
    { type: "buttons", text: "x".repeat(700), buttons: postbacks(3) },
    { type: "buttons", text: "Many", buttons: postbacks(14) },
    {
      type: "cards",
      cards: Array.from({ length: 12 }, (_, i) => ({
        title: "T".repeat(100),
        subtitle: "S".repeat(100),
        imageUrl: "https://img.example/a.jpg",
        buttons: postbacks(i % 5),
      })),
    },
    { type: "image", url: "https://img.example/a.jpg", caption: "c".repeat(2500) },
    { type: "custom", channel: "messenger", payload: { text: "raw" } },
  ];
  const from = graph.calls.length;
  const sent = [];
  for (const reply of replies) sent.push(...(await sender.send(to, reply)));
  const calls = graph.calls.slice(from);
  assert.equal(calls.length, 3 + 1 + 1 + 1 + 5 + 2 + 3 + 1);
  assert.deepEqual(
    sent.map((s) => s.platformMessageId),
    calls.map((c) => c.id),
  );
  assert.ok(calls.every((c) => c.body.recipient.id === to.externalId && c.body.messaging_type === "RESPONSE"));
});

test("a Page sends at most 40 messages a second, from every worker together", async () => {
  const page = { ...account, config: { pageId: "1000000000000040" } };
  const workers = [limits, otherWorker].map((l) => createSender(page, { GRAPH_API_BASE_URL: graph.url }, l));
  const from = graph.calls.length;
  await Promise.all(
    workers.flatMap((sender, w) =>
      Array.from({ length: 21 }, (_, i) =>
        sender.send({ externalId: `psid-${w}-${i}`, type: "private" }, { type: "text", text: "hi" }),
      ),
    ),
  );
  const at = graph.calls
    .slice(from)
    .map((c) => c.at)
    .sort((a, b) => a - b);
  assert.equal(at.length, 42);
  // Ideally 1100 ms (each second kept 100 ms longer); unlimited, all 42 arrive within a few hundred.
  assert.ok(at[40]! - at[0]! >= 700, `the 41st ${at[40]! - at[0]!} ms after the first`);
});

test("Meta's throttling answer holds the Page for its Retry-After in every worker; other Pages go on", async () => {
  const page = { ...account, config: { pageId: "1000000000000613" } };
  const otherPage = { ...account, config: { pageId: "1000000000000614" } };
  const first = createSender(page, { GRAPH_API_BASE_URL: graph.url }, limits);
  const second = createSender(page, { GRAPH_API_BASE_URL: graph.url }, otherWorker);
  const other = createSender(otherPage, { GRAPH_API_BASE_URL: graph.url }, otherWorker);
  graph.failNext({ status: 400, code: 613, message: "Calls to this api have exceeded the rate limit.", retryAfter: 2 });
  const refused = Date.now();
  await assert.rejects(
    first.send({ externalId: "psid-held", type: "private" }, { type: "text", text: "refused" }),
    (err) => err instanceof PlatformError && err.retryable && err.retryAfterMs === 2000,
  );
  await Promise.all([
    second.send({ externalId: "psid-held", type: "private" }, { type: "text", text: "held" }),
    other.send({ externalId: "psid-other", type: "private" }, { type: "text", text: "not held" }),
  ]);
  const at = (text: string) => graph.calls.find((c) => c.body.message?.text === text)!.at - refused;
  assert.ok(at("held") >= 1950, `the same Page after ${at("held")} ms`);
  assert.ok(at("not held") < 1000, `another Page after ${at("not held")} ms`);
});
