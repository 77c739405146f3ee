import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Update } from "telegraf/types";
import { normalizeUpdate } from "../src/index.ts";

const fixture = (name: string): Update =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

test("a text message from Telegram's own sample", () => {
  const [event] = normalizeUpdate(fixture("official_message_text.json"));
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
  const [edited] = normalizeUpdate(fixture("official_edited_message.json"));
  assert.ok(edited?.type === "message");
  assert.equal(edited.message.text, "Edited text");
  assert.equal(edited.message.editOf, "1365");

  const [reply] = normalizeUpdate(fixture("official_message_reply.json"));
  assert.ok(reply?.type === "message");
  assert.equal(reply.message.replyTo, "1334");

  const [formatted] = normalizeUpdate(fixture("official_message_entities.json"));
  assert.ok(formatted?.type === "message");
  assert.equal(formatted.message.text, "Bold and italics");
  assert.equal(formatted.message.command, undefined);
});

test("button presses become postbacks carrying the callback query id", () => {
  const [press] = normalizeUpdate(fixture("real_callback_query_with_message.json"));
  assert.ok(press?.type === "message");
  assert.deepEqual(press.message.postback, { payload: "tasks-settings" });
  assert.equal(press.message.platformMessageId, "1115664380233733737");
  assert.equal(press.message.conversation.externalId, "259760855");
  assert.equal(press.message.replyTo, "4071");

  const [inline] = normalizeUpdate(fixture("official_callback_query_inline.json"));
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
    const [e] = normalizeUpdate(u, bot);
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
    const [e] = normalizeUpdate({ update_id: 1, message: { ...base, ...extra } } as unknown as Update);
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
  assert.deepEqual(normalizeUpdate({ update_id: 3, poll: { id: "1" } } as unknown as Update), []);
});
