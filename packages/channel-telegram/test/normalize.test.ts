import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Update } from "telegraf/types";
import { normalize, type BotIdentity } from "../src/index.ts";

const fixture = (name: string): Update =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

test("a text message from Telegram's own sample", () => {
  const [event] = normalize(fixture("official_message_text.json"));
  assert.equal(event?.type, "message");
  if (event?.type !== "message") return;
  const m = event.message;
  assert.equal(m.channel, "telegram");
  assert.equal(m.platformEventId, "10000");
  assert.equal(m.platformMessageId, "1365");
  assert.deepEqual(m.conversation, { externalId: "1111111", type: "private" });
  assert.deepEqual(m.sender, { externalId: "1111111", name: "Test Firstname Test Lastname", username: "Testusername" });
  assert.equal(m.text, "/start");
  // The sample predates bot_command entities; the text still reads as the /start command.
  assert.deepEqual(m.command, { name: "start", args: "" });
  assert.equal(m.sentAt, new Date(1441645532 * 1000).toISOString());
  assert.equal(m.addressedToBot, true);
  assert.deepEqual(event.raw, fixture("official_message_text.json"));
});

test("edited messages, replies and formatted text", () => {
  const [edited] = normalize(fixture("official_edited_message.json"));
  assert.ok(edited?.type === "message");
  assert.equal(edited.message.text, "Edited text");
  assert.equal(edited.message.editOf, "1365");

  const [reply] = normalize(fixture("official_message_reply.json"));
  assert.ok(reply?.type === "message");
  assert.equal(reply.message.replyTo, "1334");

  const [formatted] = normalize(fixture("official_message_entities.json"));
  assert.ok(formatted?.type === "message");
  assert.equal(formatted.message.text, "Bold and italics");
  assert.equal(formatted.message.command, undefined);
});

test("button presses become postbacks carrying the callback query id", () => {
  const [press] = normalize(fixture("real_callback_query_with_message.json"));
  assert.ok(press?.type === "message");
  assert.deepEqual(press.message.postback, { payload: "tasks-settings" });
  assert.equal(press.message.platformMessageId, "1115664380233733737");
  assert.equal(press.message.conversation.externalId, "259760855");
  assert.equal(press.message.replyTo, "4071");

  const [inline] = normalize(fixture("official_callback_query_inline.json"));
  assert.ok(inline?.type === "message");
  assert.deepEqual(inline.message.postback, { payload: "Data from button callback" });
  assert.equal(inline.message.conversation.externalId, "1111111", "inline buttons answer in the presser's chat");
});

test("groups: only messages that address the bot are marked so", () => {
  const group = (text: string, extra: object = {}): Update =>
    ({
      update_id: 5,
      message: {
        message_id: 9,
        date: 1700000000,
        chat: { id: -100123, type: "supergroup", title: "Team" },
        from: { id: 42, is_bot: false, first_name: "Ann" },
        text,
        ...extra,
      },
    }) as unknown as Update;
  const bot = { id: 777, username: "ShopBot" };
  const addressed = (u: Update) => {
    const [e] = normalize(u, bot);
    assert.ok(e?.type === "message");
    return e.message;
  };
  assert.equal(addressed(group("hello all")).addressedToBot, false);
  assert.equal(addressed(group("hey @shopbot where is my order")).addressedToBot, true);
  assert.deepEqual(addressed(group("/order@ShopBot 123")).command, { name: "order", args: "123" });
  assert.equal(addressed(group("/order@OtherBot 123")).addressedToBot, false);
  assert.equal(
    addressed(
      group("thanks", {
        reply_to_message: {
          message_id: 3,
          date: 1,
          chat: { id: -100123, type: "supergroup" },
          from: { id: 777, is_bot: true, first_name: "Shop" },
          text: "hi",
        },
      }),
    ).addressedToBot,
    true,
  );
  assert.equal(addressed(group("x")).conversation.type, "group");
});

test("photos, documents, locations, venues and contacts", () => {
  const base = {
    message_id: 1,
    date: 1700000000,
    chat: { id: 5, type: "private" },
    from: { id: 5, is_bot: false, first_name: "Bo" },
  };
  const one = (extra: object) => {
    const [e] = normalize({ update_id: 1, message: { ...base, ...extra } } as unknown as Update);
    assert.ok(e?.type === "message");
    return e.message;
  };
  const photo = one({
    photo: [
      { file_id: "small", width: 90, height: 90 },
      { file_id: "large", width: 800, height: 800 },
    ],
    caption: "receipt",
  });
  assert.deepEqual(photo.media, [{ kind: "image", id: "large", caption: "receipt" }]);
  assert.equal(photo.text, "receipt");
  assert.deepEqual(one({ document: { file_id: "d1", file_name: "invoice.pdf", mime_type: "application/pdf" } }).media, [
    { kind: "document", id: "d1", mimeType: "application/pdf", fileName: "invoice.pdf" },
  ]);
  assert.deepEqual(one({ location: { latitude: 52.5, longitude: 13.4 } }).location, {
    latitude: 52.5,
    longitude: 13.4,
  });
  assert.deepEqual(
    one({
      location: { latitude: 1, longitude: 2 },
      venue: { location: { latitude: 1, longitude: 2 }, title: "Shop", address: "Main St 1" },
    }).location,
    {
      latitude: 1,
      longitude: 2,
      name: "Shop",
      address: "Main St 1",
    },
  );
  assert.deepEqual(one({ contact: { phone_number: "+4915112345678", first_name: "Eve" } }).contacts, [
    { name: "Eve", phones: ["+4915112345678"] },
  ]);
});

test("updates of no use to the bot yield nothing", () => {
  assert.deepEqual(normalize({ update_id: 3, poll: { id: "1" } } as unknown as Update), []);
});

test("every fixture normalizes whole, nothing more and nothing less", () => {
  const sender = { externalId: "1111111", name: "Test Firstname Test Lastname", username: "Testusername" };
  const common = {
    channel: "telegram",
    platformEventId: "10000",
    platformMessageId: "1365",
    conversation: { externalId: "1111111", type: "private" },
    sender,
    sentAt: new Date(1441645532 * 1000).toISOString(),
    addressedToBot: true,
  };
  const only = (name: string) => {
    const events = normalize(fixture(name));
    assert.equal(events.length, 1, name);
    assert.ok(events[0]!.type === "message");
    assert.deepEqual(events[0]!.raw, fixture(name));
    return events[0]!.message;
  };
  assert.deepEqual(only("official_message_text.json"), {
    ...common,
    text: "/start",
    command: { name: "start", args: "" },
  });
  assert.deepEqual(only("official_edited_message.json"), { ...common, text: "Edited text", editOf: "1365" });
  assert.deepEqual(only("official_message_entities.json"), { ...common, text: "Bold and italics" });
  assert.deepEqual(only("official_message_reply.json"), {
    ...common,
    text: "/start",
    command: { name: "start", args: "" },
    replyTo: "1334",
  });
  assert.deepEqual(only("real_callback_query_with_message.json"), {
    channel: "telegram",
    platformEventId: "226394498",
    platformMessageId: "1115664380233733737",
    conversation: { externalId: "259760855", type: "private" },
    sender: { externalId: "259760855", name: "Shahrad Elahi", username: "ShahradElahi" },
    sentAt: new Date(1651775842 * 1000).toISOString(),
    postback: { payload: "tasks-settings" },
    addressedToBot: true,
    replyTo: "4071",
  });
  const before = Date.now() - 1000;
  const inline = only("official_callback_query_inline.json");
  const { sentAt, ...rest } = inline;
  assert.deepEqual(rest, {
    channel: "telegram",
    platformEventId: "10000",
    platformMessageId: "4382bfdwdsb323b2d9",
    conversation: { externalId: "1111111", type: "private" },
    sender,
    postback: { payload: "Data from button callback" },
    addressedToBot: true,
  });
  // An inline-mode button has no message, hence no date of its own: the time it arrived.
  assert.ok(Date.parse(sentAt) >= before && Date.parse(sentAt) <= Date.now(), sentAt);
});

const inGroup = (extra: Record<string, unknown>, chatType = "supergroup"): Update =>
  ({
    update_id: 6,
    message: {
      message_id: 10,
      date: 1700000000,
      chat: { id: -100123, type: chatType, title: "Team" },
      from: { id: 42, is_bot: false, first_name: "Ann" },
      ...extra,
    },
  }) as unknown as Update;
const shopBot: BotIdentity = { id: 777, username: "ShopBot" };
const normalizedIn = (u: Update, bot = shopBot) => {
  const [e] = normalize(u, bot);
  assert.ok(e?.type === "message");
  return e.message;
};

test("groups: commands, mentions and replies to the bot address it; the rest is kept but not addressed", () => {
  const addressed = (extra: Record<string, unknown>, bot = shopBot) => normalizedIn(inGroup(extra), bot).addressedToBot;
  // Addressed.
  assert.equal(addressed({ text: "/order 123" }), true, "a command without a bot name");
  assert.equal(addressed({ text: "/order@shopbot 123" }), true, "the bot's name in any case");
  assert.equal(addressed({ text: "where is it @ShopBot?" }), true, "a mention anywhere");
  assert.equal(addressed({ photo: [{ file_id: "p" }], caption: "@shopbot look" }), true, "a mention in a caption");
  assert.equal(
    addressed({ text: "ok", reply_to_message: { message_id: 3, date: 1, chat: { id: -100123 }, from: { id: 777 } } }),
    true,
    "a reply to the bot",
  );
  // Not addressed.
  assert.equal(addressed({ text: "/order@OtherBot 123" }), false, "another bot's command");
  assert.equal(addressed({ text: "ask @ShopBotHelper" }), false, "another bot whose name starts like this one's");
  assert.equal(addressed({ text: "I typed /start yesterday" }), false, "a command must open the message");
  assert.equal(addressed({ text: "/start-now" }), false, "nor be followed by anything but a space");
  assert.equal(
    addressed({ text: "ok", reply_to_message: { message_id: 3, date: 1, chat: { id: -100123 }, from: { id: 42 } } }),
    false,
    "a reply to someone else",
  );
  assert.equal(
    addressed({ text: "ok", reply_to_message: { message_id: 3, date: 1, chat: { id: -100123 } } }),
    false,
    "a reply to a channel post",
  );
  assert.equal(addressed({ location: { latitude: 1, longitude: 2 } }), false, "nothing written at all");
  assert.equal(addressed({ text: "hello @ShopBot" }, {}), false, "without knowing its name, no mention is seen");
  assert.equal(addressed({ text: "hello" }, {}), false);
  // A bot whose name is unknown still takes commands, even ones naming a bot.
  assert.deepEqual(normalizedIn(inGroup({ text: "/order@ShopBot 1" }), {}).command, { name: "order", args: "1" });
  for (const type of ["group", "supergroup"])
    assert.deepEqual(normalizedIn(inGroup({ text: "hi" }, type)).conversation, {
      externalId: "-100123",
      type: "group",
    });
});

test("commands: lower-cased name, arguments trimmed and kept whole; another bot's command is no command", () => {
  assert.deepEqual(normalizedIn(inGroup({ text: "/Order@ShopBot  123 456  " })).command, {
    name: "order",
    args: "123 456",
  });
  assert.deepEqual(normalizedIn(inGroup({ text: "/track\nline two" })).command, { name: "track", args: "line two" });
  const other = normalizedIn(inGroup({ text: "/order@OtherBot 1" }));
  assert.equal(other.command, undefined);
  assert.equal(other.text, "/order@OtherBot 1");
});

test("forum topics are threads; replies elsewhere are not", () => {
  assert.deepEqual(
    normalizedIn(inGroup({ text: "/help", is_topic_message: true, message_thread_id: 55 })).conversation,
    { externalId: "-100123", type: "group", threadId: "55" },
  );
  assert.deepEqual(
    normalizedIn(inGroup({ text: "/help", message_thread_id: 55 })).conversation,
    { externalId: "-100123", type: "group" },
    "a thread id without is_topic_message is a reply chain, not a topic",
  );
  for (const extra of [{ is_topic_message: false, message_thread_id: 55 }, { is_topic_message: true }])
    assert.deepEqual(normalizedIn(inGroup({ text: "/help", ...extra })).conversation, {
      externalId: "-100123",
      type: "group",
    });
});

test("senders: names without gaps; a message with no sender is the chat's", () => {
  assert.deepEqual(normalizedIn(inGroup({ text: "hi" })).sender, { externalId: "42", name: "Ann" });
  const channelPost = normalizedIn(
    inGroup({ text: "hi", from: undefined, sender_chat: { id: -100123, type: "supergroup" } }),
  );
  assert.deepEqual(channelPost.sender, { externalId: "-100123" });
  const [press] = normalize({
    update_id: 8,
    callback_query: {
      id: "cb-1",
      from: { id: 42, is_bot: false, first_name: "Ann" },
      chat_instance: "1",
      data: "yes",
      message: { message_id: 9, date: 1700000000, chat: { id: -100123, type: "supergroup" }, text: "Pick" },
    },
  } as unknown as Update);
  assert.ok(press?.type === "message");
  assert.deepEqual(press.message.conversation, { externalId: "-100123", type: "group" }, "a press in a group");
  assert.equal(press.message.sentAt, new Date(1700000000 * 1000).toISOString());
  const [game] = normalize({
    update_id: 9,
    callback_query: { id: "cb-2", from: { id: 42, is_bot: false, first_name: "Ann" }, game_short_name: "tetris" },
  } as unknown as Update);
  assert.ok(game?.type === "message");
  assert.deepEqual(game.message.postback, { payload: "tetris" });
});

test("every kind of media, the largest photo, and nothing invented for plain messages", () => {
  const priv = (extra: object) => {
    const [e] = normalize({
      update_id: 1,
      message: {
        message_id: 1,
        date: 1700000000,
        chat: { id: 5, type: "private" },
        from: { id: 5, is_bot: false, first_name: "Bo", last_name: "Ray" },
        ...extra,
      },
    } as unknown as Update);
    assert.ok(e?.type === "message");
    return e.message;
  };
  assert.deepEqual(
    priv({
      photo: [
        { file_id: "s", width: 90, height: 90 },
        { file_id: "m", width: 320, height: 320 },
        { file_id: "l", width: 800, height: 800 },
      ],
    }),
    {
      channel: "telegram",
      platformEventId: "1",
      platformMessageId: "1",
      conversation: { externalId: "5", type: "private" },
      sender: { externalId: "5", name: "Bo Ray" },
      sentAt: new Date(1700000000 * 1000).toISOString(),
      addressedToBot: true,
      media: [{ kind: "image", id: "l" }],
    },
  );
  assert.deepEqual(priv({ document: { file_id: "d" }, caption: "scan" }).media, [
    { kind: "document", id: "d", caption: "scan" },
  ]);
  assert.deepEqual(priv({ video: { file_id: "v", mime_type: "video/mp4" }, caption: "clip" }).media, [
    { kind: "video", id: "v", mimeType: "video/mp4", caption: "clip" },
  ]);
  assert.deepEqual(priv({ video: { file_id: "v" } }).media, [{ kind: "video", id: "v" }]);
  assert.deepEqual(priv({ audio: { file_id: "a", mime_type: "audio/mpeg" }, caption: "song" }).media, [
    { kind: "audio", id: "a", mimeType: "audio/mpeg", caption: "song" },
  ]);
  assert.deepEqual(priv({ audio: { file_id: "a" } }).media, [{ kind: "audio", id: "a" }]);
  assert.deepEqual(priv({ voice: { file_id: "o", mime_type: "audio/ogg" } }).media, [
    { kind: "audio", id: "o", mimeType: "audio/ogg" },
  ]);
  assert.deepEqual(priv({ voice: { file_id: "o" } }).media, [{ kind: "audio", id: "o" }]);
  assert.deepEqual(priv({ sticker: { file_id: "st" } }).media, [{ kind: "sticker", id: "st" }]);
  assert.deepEqual(priv({ photo: [{ file_id: "p" }], caption: "" }).media, [{ kind: "image", id: "p" }]);
  assert.deepEqual(
    priv({ contact: { phone_number: "+4915112345678", first_name: "Eve", last_name: "Adams" } }).contacts,
    [{ name: "Eve Adams", phones: ["+4915112345678"] }],
  );
  const located = priv({ location: { latitude: 52.5, longitude: 13.4 } });
  assert.deepEqual(Object.keys(located).sort(), [
    "addressedToBot",
    "channel",
    "conversation",
    "location",
    "platformEventId",
    "platformMessageId",
    "sender",
    "sentAt",
  ]);
});
