import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { InboundEvent, InboundMessage } from "@cb/core";
import { normalize } from "../src/index.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
const one = (name: string): InboundMessage => {
  const events = normalize(fixture(name));
  assert.equal(events.length, 1, name);
  assert.equal(events[0]!.type, "message");
  return (events[0] as Extract<InboundEvent, { type: "message" }>).message;
};

test("a text message: the customer's IGSID is the conversation, the mid the message, Meta's timestamp the time", () => {
  assert.deepEqual(one("docs_text.json"), {
    channel: "instagram",
    platformEventId: "MESSAGE-ID",
    platformMessageId: "MESSAGE-ID",
    conversation: { externalId: "IGSID", type: "private" },
    sender: { externalId: "IGSID" },
    sentAt: new Date(1569262485349).toISOString(),
    addressedToBot: true,
    text: "MESSAGE-TEXT",
  });
});

test("media, story mentions and story replies keep their CDN URLs; a story reply names the story", () => {
  assert.deepEqual(one("docs_attachment_image.json").media, [{ kind: "image", url: "IMAGE-CDN-URL" }]);
  const mention = one("docs_story_mention.json");
  assert.deepEqual(mention.media, [{ kind: "image", url: "<CDN_URL>" }]);
  assert.equal(mention.text, undefined);
  const reply = one("docs_story_reply.json");
  assert.equal(reply.text, "MESSAGE-TEXT");
  assert.equal(reply.replyTo, "STORY-ID");
  assert.deepEqual(reply.media, [{ kind: "image", url: "CDN-URL-OF-THE-STORY" }]);
});

test("quick replies and template buttons are postbacks carrying their payload and title", () => {
  const quick = one("docs_quick_reply.json");
  assert.deepEqual(quick.postback, { payload: "<POSTBACK_PAYLOAD_1>", title: "<TITLE_1>" });
  assert.equal(quick.platformMessageId, "<MID>");
  const press = one("docs_postback.json");
  assert.deepEqual(press.postback, {
    payload: "CUSTOMER-RESPONSE-PAYLOAD",
    title: "SELECTED-ICEBREAKER-REPLY-OR-CTA-BUTTON",
  });
  assert.equal(press.platformEventId, "MESSAGE-ID");
  const legacy = fixture("docs_postback.json");
  delete legacy.entry[0].messaging[0].postback.mid;
  assert.equal(
    (normalize(legacy)[0] as { message: InboundMessage }).message.platformEventId,
    "postback:IGSID:1569262485349",
  );
});

test("a reaction names the message and its emoji; withdrawing it leaves the emoji empty", () => {
  const react = one("docs_reaction.json");
  assert.deepEqual(react.reaction, { emoji: "\u2764\ufe0f", messageId: "MESSAGE-ID" });
  const unreact = one("docs_unreact.json");
  assert.deepEqual(unreact.reaction, { emoji: "", messageId: "MESSAGE-ID" });
  assert.notEqual(react.platformEventId, unreact.platformEventId, "both are kept");
});

test("seen marks everything sent up to then read; echoes, unsent and unsupported messages are nothing", () => {
  assert.deepEqual(normalize(fixture("docs_seen.json")), [
    {
      type: "read",
      read: { channel: "instagram", conversationExternalId: "IGSID", upTo: new Date(1569262485349).toISOString() },
      raw: fixture("docs_seen.json").entry[0].messaging[0],
    },
  ]);
  assert.deepEqual(normalize(fixture("docs_echo.json")), []);
  for (const flag of ["is_deleted", "is_unsupported"]) {
    const body = fixture("docs_text.json");
    body.entry[0].messaging[0].message[flag] = true;
    assert.deepEqual(normalize(body), [], flag);
  }
});
