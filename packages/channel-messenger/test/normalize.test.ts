import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { InboundEvent } from "@cb/core";
import { normalize } from "../src/index.ts";
import { normalizeEvent } from "../src/normalize.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

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
