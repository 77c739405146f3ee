import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { InboundEvent } from "@cb/core";
import { driver } from "../src/index.ts";
import {
  normalize,
  normalizeBlockActions,
  normalizeMessageEvent,
  type BlockActionsPayload,
  type SlackMessageEvent,
} from "../src/normalize.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

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

test("opening the app's Messages tab fires Slack's welcome once per customer; the Home tab yields nothing", () => {
  const body = JSON.parse(fixture("event_callback_app_home_opened.json"));
  const [opened, ...more] = normalize(body, "W111");
  assert.equal(more.length, 0);
  assert.ok(opened?.type === "message");
  assert.deepEqual(opened.message, {
    channel: "slack",
    platformEventId: "app_home_opened:D123ABC456",
    conversation: { externalId: "D123ABC456", type: "private" },
    sender: { externalId: "U123ABC456" },
    sentAt: new Date(1595926230_000).toISOString(),
    command: { name: "app_home_opened", args: "" },
    addressedToBot: true,
  });
  assert.deepEqual(driver.dialogflow.welcomeEvents?.(opened.message), ["SLACK_WELCOME", "WELCOME"]);
  // Every later visit has the same event id: stored once, so greeted once.
  const again = normalize({ ...body, event_id: "Ev222", event_time: body.event_time + 3600 }, "W111")[0];
  assert.ok(again?.type === "message");
  assert.equal(again.message.platformEventId, opened.message.platformEventId);
  assert.deepEqual(normalize({ ...body, event: { ...body.event, tab: "home" } }, "W111"), []);

  const [text] = normalize(JSON.parse(fixture("event_callback_app_mention.json")), "W111");
  assert.ok(text?.type === "message");
  assert.deepEqual(driver.dialogflow.welcomeEvents?.(text.message), [], "an ordinary message is no welcome");
});
