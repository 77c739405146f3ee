import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  PlatformError,
  postgresSendLimits,
  type ChannelAccount,
  type InboundEvent,
  type Reply,
  type SendLimits,
} from "@cb/core";
import { startFakeSlack, type FakeSlack } from "@cb/fake-slack";
import { isValidSlackRequest } from "@slack/bolt";
import Fastify, { type FastifyInstance } from "fastify";
import { createSender, render, driver, slackWebhook } from "../src/index.ts";
import {
  normalizeBlockActions,
  normalizeMessageEvent,
  type BlockActionsPayload,
  type SlackMessageEvent,
} from "../src/normalize.ts";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";

// The platforms' limits live in PostgreSQL, shared as between worker processes.
let limitsDb: TestDatabase;
let limits: SendLimits;
before(async () => {
  limitsDb = await createTestDatabase();
  limits = postgresSendLimits(limitsDb.pool);
});
after(() => limitsDb.drop());

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const SIGNING_SECRET = "slack-signing-secret";
const account: ChannelAccount = {
  id: "8b1d6a8e-0000-4000-8000-000000000001",
  tenantId: "t",
  channel: "slack",
  config: { teamId: "T111", botUserId: "W111" },
  secrets: { botToken: "xoxb-test", signingSecret: SIGNING_SECRET },
};
let app: FastifyInstance;
let slack: FakeSlack;
const ingested: InboundEvent[] = [];

const sign = (body: string, timestamp = Math.floor(Date.now() / 1000), secret = SIGNING_SECRET) => ({
  "x-slack-request-timestamp": String(timestamp),
  "x-slack-signature": `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`,
});

before(async () => {
  app = Fastify();
  await app.register(slackWebhook(), {
    prefix: "/webhooks/slack",
    loadAccount: async (id) => (id === account.id ? account : null),
    ingest: async (_a, events) => void ingested.push(...events),
  });
  slack = await startFakeSlack();
  slack.addToken("xoxb-test");
});
after(async () => {
  await app.close();
  await slack.close();
});

test("Slack's official signing example verifies at its time; a tampered byte, a wrong secret or a stale timestamp do not", () => {
  const v = JSON.parse(fixture("signing_test_vector.json"));
  const check = (body: string, secret: string, now: number) =>
    isValidSlackRequest({
      signingSecret: secret,
      body,
      headers: {
        "x-slack-signature": v.headers["x-slack-signature"],
        "x-slack-request-timestamp": Number(v.headers["x-slack-request-timestamp"]),
      },
      nowMilliseconds: now,
    });
  const at = Number(v.headers["x-slack-request-timestamp"]) * 1000;
  assert.ok(check(v.raw_body, v.signing_secret, at + 1000));
  assert.ok(!check(v.raw_body.replace("roadrunner", "roadrunnes"), v.signing_secret, at + 1000));
  assert.ok(!check(v.raw_body, "0".repeat(32), at + 1000));
  assert.ok(!check(v.raw_body, v.signing_secret, at + 6 * 60 * 1000), "older than five minutes");
});

test("fixtures normalize: channel messages, mentions, button presses; bots and edits yield nothing", () => {
  const message = JSON.parse(fixture("event_callback_message.json"));
  const [plain] = normalizeMessageEvent(message.event_id, message.event, "W999");
  assert.ok(plain?.type === "message");
  assert.deepEqual(plain.message, {
    channel: "slack",
    platformEventId: "Ev111",
    platformMessageId: "1596183880.004200",
    conversation: { externalId: "C111", type: "group" },
    sender: { externalId: "W111" },
    sentAt: new Date(1596183880004).toISOString(),
    text: "Hello World!",
    addressedToBot: false,
  });
  const mention = JSON.parse(fixture("event_callback_app_mention.json"));
  const [m] = normalizeMessageEvent(mention.event_id, mention.event, "W111");
  assert.ok(m?.type === "message");
  assert.equal(m.message.text, "Hi there!", "the bot's mention is stripped");
  assert.equal(m.message.addressedToBot, true);
  assert.deepEqual(normalizeMessageEvent("Ev1", { ...message.event, bot_id: "B1" }), []);
  assert.deepEqual(normalizeMessageEvent("Ev2", { ...message.event, subtype: "message_changed" }), []);
  const dm = normalizeMessageEvent("Ev3", {
    ...message.event,
    channel: "D123",
    channel_type: "im",
    thread_ts: "1596183000.000100",
  })[0];
  assert.ok(dm?.type === "message");
  assert.deepEqual(dm.message.conversation, { externalId: "D123", type: "private", threadId: "1596183000.000100" });
  assert.equal(dm.message.addressedToBot, true);

  const [press] = normalizeBlockActions(JSON.parse(fixture("block_actions_payload.json")));
  assert.ok(press?.type === "message");
  assert.deepEqual(press.message.postback, { payload: "click_me_123", title: "Button" });
  assert.equal(press.message.conversation.externalId, "C111");
});

test("the webhook: 404, 401, url_verification, events ingested through Bolt, retries keep their event id", async () => {
  const post = (body: string, headers: Record<string, string>, contentType = "application/json", id = account.id) =>
    app.inject({
      method: "POST",
      url: `/webhooks/slack/${id}`,
      headers: { "content-type": contentType, ...headers },
      payload: body,
    });
  const verification = fixture("url_verification.json");
  assert.equal(
    (await post(verification, sign(verification), "application/json", "8b1d6a8e-0000-4000-8000-00000000ffff"))
      .statusCode,
    404,
  );
  assert.equal((await post(verification, sign(verification, undefined, "wrong"))).statusCode, 401);
  assert.equal(
    (await post(verification, sign(verification, Math.floor(Date.now() / 1000) - 600))).statusCode,
    401,
    "stale",
  );
  assert.deepEqual((await post(verification, sign(verification))).json(), {
    challenge: JSON.parse(verification).challenge,
  });
  assert.equal(ingested.length, 0);

  const mention = fixture("event_callback_app_mention.json");
  assert.equal((await post(mention, sign(mention))).statusCode, 200);
  assert.equal(
    (await post(mention, { ...sign(mention), "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" }))
      .statusCode,
    200,
  );
  assert.equal(ingested.length, 2);
  assert.ok(
    ingested.every(
      (e) => e.type === "message" && e.message.platformEventId === "Ev111" && e.message.text === "Hi there!",
    ),
  );

  const form = fixture("block_actions_form_body.txt").trim();
  assert.equal((await post(form, sign(form), "application/x-www-form-urlencoded")).statusCode, 200);
  const press = ingested.at(-1)!;
  assert.ok(press.type === "message");
  assert.deepEqual(press.message.postback, { payload: "click_me_123", title: "Button" });

  const reaction = fixture("event_callback_reaction_added.json");
  assert.equal((await post(reaction, sign(reaction))).statusCode, 200);
  assert.equal(ingested.length, 3, "reactions are acknowledged and ignored");
  // A server that cannot disable accounts still acknowledges an uninstall.
  const uninstalled = fixture("event_callback_app_uninstalled.json");
  assert.equal((await post(uninstalled, sign(uninstalled))).statusCode, 200);
  assert.equal(ingested.length, 3);
});

test("Block Kit rendering within Slack's limits", () => {
  const [m] = render({
    type: "buttons",
    text: "Pick <one> & go",
    buttons: [
      { type: "postback", title: "Track", payload: "TRACK" },
      { type: "url", title: "Site", url: "https://shop.example" },
    ],
  });
  assert.deepEqual(m!.blocks, [
    { type: "section", text: { type: "mrkdwn", text: "Pick &lt;one&gt; &amp; go" } },
    {
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Track", emoji: true },
          action_id: "reply_0",
          value: "TRACK",
        },
        {
          type: "button",
          text: { type: "plain_text", text: "Site", emoji: true },
          action_id: "reply_1",
          url: "https://shop.example",
        },
      ],
    },
  ]);
  const long = render({
    type: "text",
    text: "word ".repeat(1500),
    quickReplies: Array.from({ length: 30 }, (_, i) => ({ title: `Option ${i}`, payload: `o${i}` })),
  });
  const blocks = long.flatMap((x) => x.blocks ?? []);
  assert.equal(blocks.filter((b) => b.type === "section").length, 3);
  assert.deepEqual(
    blocks.filter((b) => b.type === "actions").map((b) => (b.elements as unknown[]).length),
    [25, 5],
  );
});

test("escaping never pushes a section past 3,000 characters or splits an entity", () => {
  const wholeEntities = /^([^&]|&amp;|&lt;|&gt;)*$/;
  const text = "a <b> & c ".repeat(900);
  const sections = render({ type: "text", text })
    .flatMap((m) => m.blocks ?? [])
    .map((b) => (b.text as { text: string }).text);
  assert.ok(sections.length > 3);
  for (const t of sections)
    assert.ok(t.length <= 3000 && wholeEntities.test(t), `${t.length} characters, ends ${t.slice(-8)}`);
  const unescapeHtml = (t: string) => t.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  assert.equal(
    sections.map(unescapeHtml).join(" ").replace(/\s+/g, " "),
    text.trim().replace(/\s+/g, " "),
    "nothing lost",
  );

  const [card] = render({ type: "cards", cards: [{ title: "R&D", subtitle: "<&>".repeat(2000) }] });
  const cardText = (card!.blocks![0]!.text as { text: string }).text;
  assert.ok(
    cardText.startsWith("*R&amp;D*\n") &&
      cardText.endsWith("…") &&
      cardText.length <= 3000 &&
      wholeEntities.test(cardText.slice(0, -1)),
  );
});

test("cards, images, custom payloads and templates", () => {
  const [cards] = render({
    type: "cards",
    cards: [
      {
        title: "Blue shoe",
        subtitle: "Size 42",
        imageUrl: "https://shop.example/blue.png",
        buttons: [{ type: "postback", title: "Buy", payload: "BUY_BLUE" }],
      },
      { title: "Red shoe" },
    ],
  });
  assert.deepEqual(cards, {
    text: "Blue shoe, Red shoe",
    blocks: [
      {
        type: "section",
        text: { type: "mrkdwn", text: "*Blue shoe*\nSize 42" },
        accessory: { type: "image", image_url: "https://shop.example/blue.png", alt_text: "Blue shoe" },
      },
      {
        type: "actions",
        elements: [
          {
            type: "button",
            text: { type: "plain_text", text: "Buy", emoji: true },
            action_id: "reply_0",
            value: "BUY_BLUE",
          },
        ],
      },
      { type: "divider" },
      { type: "section", text: { type: "mrkdwn", text: "*Red shoe*" } },
    ],
  });
  assert.deepEqual(render({ type: "image", url: "https://shop.example/a.png", caption: "Your parcel" }), [
    {
      text: "Your parcel",
      blocks: [
        {
          type: "image",
          image_url: "https://shop.example/a.png",
          alt_text: "Your parcel",
          title: { type: "plain_text", text: "Your parcel" },
        },
      ],
    },
  ]);
  const custom = { blocks: [{ type: "header", text: { type: "plain_text", text: "Hi" } }], text: "Hi" };
  assert.deepEqual(render({ type: "custom", channel: "slack", payload: custom }), [custom]);
  assert.deepEqual(
    render({ type: "custom", channel: "telegram", payload: { text: "x" } }),
    [],
    "another channel's payload is not for Slack",
  );
  assert.deepEqual(
    render({ type: "template", name: "order_update", language: "en" }),
    [],
    "WhatsApp templates have no Slack form",
  );
});

test("the sender posts through the WebClient to the strict fake; in threads; errors classified", async () => {
  const sender = createSender(account, { SLACK_API_URL: slack.url }, limits);
  const [sent] = await sender.send(
    { externalId: "C111", type: "group", threadId: "1595926230.009600" },
    { type: "buttons", text: "Hi", buttons: [{ type: "postback", title: "Yes", payload: "yes" }] },
  );
  assert.match(sent!.platformMessageId, /^\d+\.\d+$/);
  const call = slack.calls.at(-1)!;
  assert.equal(call.args.channel, "C111");
  assert.equal(call.args.thread_ts, "1595926230.009600");
  assert.equal(call.args.blocks[1].elements[0].value, "yes");

  slack.failNext("chat.postMessage", { status: 429, error: "ratelimited", retryAfter: 7 });
  const limited = await sender
    .send({ externalId: "C2", type: "group" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(limited instanceof PlatformError && limited.retryable && limited.retryAfterMs === 7000, String(limited));
  slack.failNext("chat.postMessage", { error: "channel_not_found" });
  const missing = await sender
    .send({ externalId: "C3", type: "group" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(missing instanceof PlatformError && !missing.retryable && missing.code === "channel_not_found");
  const bad = await createSender(
    { ...account, secrets: { botToken: "xoxb-revoked", signingSecret: "s" } },
    { SLACK_API_URL: slack.url },
    limits,
  )
    .send({ externalId: "C4", type: "group" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(bad instanceof PlatformError && bad.code === "invalid_auth");
});

const messageEvent = (extra: Partial<SlackMessageEvent> = {}): SlackMessageEvent => ({
  type: "message",
  user: "U222",
  text: "hello",
  ts: "1700000000.000100",
  channel: "C777",
  channel_type: "channel",
  ...extra,
});
const one = (events: InboundEvent[]) => {
  assert.equal(events.length, 1);
  assert.ok(events[0]!.type === "message");
  return events[0]!.message;
};

test("channels: only mentions address the bot; direct messages always do; group DMs are groups", () => {
  assert.deepEqual(one(normalizeMessageEvent("Ev1", messageEvent(), "UBOT")), {
    channel: "slack",
    platformEventId: "Ev1",
    platformMessageId: "1700000000.000100",
    conversation: { externalId: "C777", type: "group" },
    sender: { externalId: "U222" },
    sentAt: new Date(1700000000000).toISOString(),
    text: "hello",
    addressedToBot: false,
  });
  const mentioned = one(
    normalizeMessageEvent(
      "Ev2",
      messageEvent({ type: "app_mention", text: "<@UBOT> where is <@U333>'s order? <@UBOT>" }),
      "UBOT",
    ),
  );
  assert.equal(mentioned.addressedToBot, true);
  assert.equal(mentioned.text, "where is <@U333>'s order?", "the bot's mentions go, other people's stay");
  const group = one(normalizeMessageEvent("Ev3", messageEvent({ channel: "G1", channel_type: "mpim" }), "UBOT"));
  assert.deepEqual([group.conversation.type, group.addressedToBot], ["group", false]);
  const dm = one(normalizeMessageEvent("Ev4", messageEvent({ channel: "D1", channel_type: "im" }), "UBOT"));
  assert.deepEqual([dm.conversation.type, dm.addressedToBot], ["private", true]);
  // Without the bot's id, a leading mention is taken for the bot's; one further on is kept.
  assert.equal(one(normalizeMessageEvent("Ev5", messageEvent({ text: "<@U0LAN0Z89> hi <@U1>" }))).text, "hi <@U1>");
  assert.equal(one(normalizeMessageEvent("Ev6", messageEvent({ text: "hi <@U0LAN0Z89>" }))).text, "hi <@U0LAN0Z89>");
  assert.equal(one(normalizeMessageEvent("Ev7", messageEvent({ text: undefined }))).text, "", "a files-only post");
});

test("what counts as someone talking: files and thread broadcasts yes; edits, joins, bots and the bot itself no", () => {
  for (const subtype of ["file_share", "thread_broadcast"])
    assert.equal(normalizeMessageEvent("Ev", messageEvent({ subtype }), "UBOT").length, 1, subtype);
  for (const subtype of ["message_changed", "message_deleted", "channel_join", "bot_message"])
    assert.deepEqual(normalizeMessageEvent("Ev", messageEvent({ subtype }), "UBOT"), [], subtype);
  assert.deepEqual(normalizeMessageEvent("Ev", messageEvent({ bot_id: "B1" }), "UBOT"), []);
  assert.deepEqual(normalizeMessageEvent("Ev", messageEvent({ user: "UBOT" }), "UBOT"), []);
  assert.deepEqual(normalizeMessageEvent("Ev", messageEvent({ user: undefined }), "UBOT"), []);
  // The schema samples (every field, values blanked) name no one: nothing to answer, nothing thrown.
  for (const name of ["schema_all_fields_message.json", "schema_all_fields_app_mention.json"]) {
    const body = JSON.parse(fixture(name));
    assert.deepEqual(normalizeMessageEvent(body.event_id, body.event, "UBOT"), [], name);
  }
  assert.deepEqual(normalizeBlockActions(JSON.parse(fixture("schema_all_fields_block_actions.json"))), []);
});

test("button presses and menu choices: every action a postback, in its channel and thread", () => {
  const payload = JSON.parse(fixture("block_actions_payload.json")) as BlockActionsPayload;
  assert.deepEqual(one(normalizeBlockActions(payload)), {
    channel: "slack",
    platformEventId: "111.222:a:1596530385.194939",
    conversation: { externalId: "C111", type: "group" },
    sender: { externalId: "W111", name: "primary-owner" },
    sentAt: new Date(1596530385195).toISOString(),
    postback: { payload: "click_me_123", title: "Button" },
    addressedToBot: true,
    replyTo: "111.222",
  });
  const dm = normalizeBlockActions({
    type: "block_actions",
    user: { id: "U1" },
    container: { channel_id: "D42", thread_ts: "1.5" },
    actions: [
      { action_id: "menu", action_ts: "2.0", selected_option: { value: "blue", text: { text: "Blue" } } },
      { action_id: "menu2", action_ts: "2.1", selected_option: { value: "red" } },
      { action_id: "bare", action_ts: "2.2" },
    ],
  });
  assert.deepEqual(
    dm.map((e) => e.type === "message" && [e.message.platformEventId, e.message.postback, e.message.conversation]),
    [
      [":menu:2.0", { payload: "blue", title: "Blue" }, { externalId: "D42", type: "private", threadId: "1.5" }],
      [":menu2:2.1", { payload: "red" }, { externalId: "D42", type: "private", threadId: "1.5" }],
      [":bare:2.2", { payload: "" }, { externalId: "D42", type: "private", threadId: "1.5" }],
    ],
  );
  assert.ok(
    dm.every((e) => e.type === "message" && e.message.replyTo === undefined && e.message.sender.name === undefined),
  );
  const inThread = one(
    normalizeBlockActions({ ...payload, container: { message_ts: "9.9" }, message: { thread_ts: "8.8" } }),
  );
  assert.deepEqual(inThread.conversation, { externalId: "C111", type: "group", threadId: "8.8" });
  assert.deepEqual(normalizeBlockActions({ ...payload, channel: undefined, container: {} }), [], "nowhere to answer");
  const { container: _, ...bare } = payload;
  assert.deepEqual(normalizeBlockActions({ ...bare, channel: undefined }), []);
  const noContainer = one(normalizeBlockActions(bare));
  assert.deepEqual(
    [noContainer.platformEventId, noContainer.conversation, noContainer.replyTo],
    [":a:1596530385.194939", { externalId: "C111", type: "group" }, undefined],
  );
});

test("limits at their edges: a full section, a full card, 2000-character values, 50 blocks a message", () => {
  const full = render({ type: "text", text: "a".repeat(3000) });
  assert.deepEqual(
    full.map((m) => m.blocks!.map((b) => (b.text as { text: string }).text.length)),
    [[3000]],
  );
  // "*TT*\n" and 599 "&amp;": 3000 characters once escaped.
  const [card] = render({ type: "cards", cards: [{ title: "TT", subtitle: "&".repeat(599) }] });
  const cardText = (card!.blocks![0]!.text as { text: string }).text;
  assert.equal(cardText.length, 3000);
  assert.ok(!cardText.endsWith("…"), "exactly at the limit, nothing is cut");
  const value = "v".repeat(2000);
  assert.equal(
    (
      render({ type: "buttons", text: "x", buttons: [{ type: "postback", title: "V", payload: value }] })[0]!
        .blocks![1]!.elements as { value: string }[]
    )[0]!.value,
    value,
  );
  assert.throws(
    () => render({ type: "buttons", text: "x", buttons: [{ type: "postback", title: "V", payload: `${value}v` }] }),
    /2000 characters/,
  );
  // 25 cards: 25 sections, 24 dividers and one actions block, exactly 50.
  const cards = Array.from({ length: 25 }, (_, i) => ({
    title: `Card ${i}`,
    ...(i === 0 ? { buttons: [{ type: "postback" as const, title: "Buy", payload: "buy" }] } : {}),
  }));
  assert.deepEqual(
    render({ type: "cards", cards }).map((m) => m.blocks!.length),
    [50],
  );
  const more = render({ type: "cards", cards: [...cards, { title: "Card 25" }, { title: "Card 26" }] });
  assert.deepEqual(
    more.map((m) => m.blocks!.length),
    [50, 4],
  );
  assert.deepEqual(more[1]!.blocks!.at(-1), { type: "section", text: { type: "mrkdwn", text: "*Card 26*" } });
  assert.equal(more[1]!.text, more[0]!.text, "each message carries the fallback text");
  const long = "b".repeat(80);
  const [button] = render({
    type: "buttons",
    text: "x",
    buttons: [{ type: "url", title: long, url: "https://x.example" }],
  })[0]!.blocks![1]!.elements as { text: { text: string } }[];
  assert.equal([...button!.text.text].length, 75);
  const [image] = render({ type: "image", url: "https://img.example/a.png", caption: "c".repeat(2500) });
  const block = image!.blocks![0] as { alt_text: string; title: { text: string } };
  assert.deepEqual([block.alt_text.length, block.title.text.length, image!.text.length], [2000, 2000, 2500]);
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.png" }), [
    {
      text: "https://img.example/a.png",
      blocks: [{ type: "image", image_url: "https://img.example/a.png", alt_text: "image" }],
    },
  ]);
  assert.deepEqual(render({ type: "custom", channel: "slack", payload: { blocks: [] } }), [{ text: "", blocks: [] }]);
  const [bare] = render({
    type: "buttons",
    text: "",
    buttons: [{ type: "postback", title: "Go", payload: "go" }],
  });
  assert.equal(bare!.text, " ", "a notification text even when there are only buttons");
  assert.deepEqual(
    bare!.blocks!.map((b) => b.type),
    ["actions"],
  );
});

test("every kind of reply is accepted by the strict fake", async () => {
  const sender = createSender(account, { SLACK_API_URL: slack.url }, limits);
  assert.equal(sender.reportsDelivery, false, "Slack never reports delivery by message id");
  const replies: Reply[] = [
    {
      type: "text",
      text: "<word> & ".repeat(2000),
      quickReplies: Array.from({ length: 30 }, (_, i) => ({ title: `Option ${i} `.repeat(10), payload: `o${i}` })),
    },
    { type: "buttons", text: "Go", buttons: [{ type: "url", title: "Site", url: "https://shop.example" }] },
    {
      type: "cards",
      cards: Array.from({ length: 30 }, (_, i) => ({
        title: `Shoe ${i}`.repeat(i === 0 ? 400 : 1),
        subtitle: "<&>".repeat(1500),
        imageUrl: "https://img.example/s.png",
        buttons: [{ type: "postback" as const, title: "Buy", payload: `buy${i}` }],
      })),
    },
    { type: "image", url: "https://img.example/a.png", caption: "c".repeat(2500) },
    { type: "custom", channel: "slack", payload: { text: "raw" } },
  ];
  const from = slack.calls.length;
  const sent = await Promise.all(
    replies.map((reply, i) => sender.send({ externalId: `C9${i}`, type: "group" }, reply)),
  );
  assert.deepEqual(
    sent.map((s) => s.length),
    [1, 1, 2, 1, 1],
  );
  const calls = slack.calls.slice(from);
  assert.equal(calls.length, 6);
  assert.deepEqual(
    sent
      .flat()
      .map((s) => s.platformMessageId)
      .sort(),
    calls.map((c) => c.ts).sort(),
  );
});

test("errors: 5xx retryable, other HTTP errors and refusals permanent, an unreachable API a retryable network error", async () => {
  const sender = createSender(account, { SLACK_API_URL: slack.url }, limits);
  const fail = async (failure: { status?: number; error?: string; retryAfter?: number }, channel: string) => {
    slack.failNext("chat.postMessage", failure);
    const err = await sender
      .send({ externalId: channel, type: "group" }, { type: "text", text: "x" })
      .catch((e: unknown) => e);
    assert.ok(err instanceof PlatformError);
    return [err.platform, err.code, err.retryable, err.retryAfterMs];
  };
  assert.deepEqual(await fail({ status: 429, retryAfter: 30 }, "E1"), ["slack", "rate_limited", true, 30_000]);
  assert.deepEqual(await fail({ status: 500, error: "fatal_error" }, "E2"), ["slack", "500", true, undefined]);
  assert.deepEqual(await fail({ status: 503, error: "service_unavailable" }, "E3"), ["slack", "503", true, undefined]);
  assert.deepEqual(await fail({ status: 404, error: "x" }, "E4"), ["slack", "404", false, undefined]);
  assert.deepEqual(await fail({ error: "not_in_channel" }, "E5"), ["slack", "not_in_channel", false, undefined]);
  const closed = await startFakeSlack();
  const url = closed.url;
  await closed.close();
  const err = await createSender(account, { SLACK_API_URL: url }, limits)
    .send({ externalId: "E6", type: "group" }, { type: "text", text: "x" })
    .catch((e: unknown) => e);
  assert.ok(err instanceof PlatformError);
  assert.deepEqual([err.platform, err.code, err.retryable], ["slack", "network", true]);
  assert.equal(driver.name, "slack");
  assert.equal(driver.createSender, createSender);
});
