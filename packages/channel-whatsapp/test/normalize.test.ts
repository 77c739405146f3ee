import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { InboundEvent, InboundMessage } from "@cb/core";
import { normalizeWebhook } from "../src/index.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
const only = (name: string): InboundMessage => {
  const events = normalizeWebhook(fixture(name));
  assert.equal(events.length, 1, name);
  assert.equal(events[0]!.type, "message");
  return (events[0] as Extract<InboundEvent, { type: "message" }>).message;
};

test("text messages, with the sender's profile name and reply context", () => {
  const m = only("inbound_text.json");
  assert.deepEqual(m, {
    channel: "whatsapp",
    platformEventId: "wamid.xyzxyz",
    platformMessageId: "wamid.xyzxyz",
    conversation: { externalId: "972987654321", type: "private" },
    sender: { externalId: "972987654321", phone: "+972987654321", name: "Test Name" },
    sentAt: new Date(1697043223 * 1000).toISOString(),
    addressedToBot: true,
    text: "Body Text",
  });
  assert.equal(only("inbound_text_reply_context.json").replyTo, "wamid.xyzxyz==");
});

test("reply buttons, list rows and template quick replies are postbacks", () => {
  assert.deepEqual(only("inbound_interactive_button_reply.json").postback, {
    payload: "callback_data",
    title: "title",
  });
  assert.deepEqual(only("inbound_interactive_list_reply.json").postback, { payload: "callback_data", title: "title" });
  assert.deepEqual(only("inbound_interactive_list_reply_with_description.json").postback, {
    payload: "callback_data",
    title: "title",
  });
  assert.deepEqual(only("inbound_template_quick_reply_button.json").postback, {
    payload: "callback_data",
    title: "title",
  });
});

test("media, locations, reactions; unsupported and broken messages carry nothing to answer", () => {
  assert.deepEqual(only("inbound_image.json").media, [{ kind: "image", id: "65463453", mimeType: "image/jpeg" }]);
  assert.deepEqual(only("inbound_location_chosen.json").location, {
    latitude: 37.4611978,
    longitude: -122.2164385,
    name: "Facebook HQ",
    address: "1 Hacker Way, Menlo Park, CA 94025",
  });
  assert.deepEqual(only("inbound_location_current.json").location, { latitude: 12.25089, longitude: 43.90539 });
  assert.deepEqual(only("inbound_reaction.json").reaction, { emoji: "😮", messageId: "wamid.yzxyzx=" });
  for (const name of ["inbound_unsupported.json", "inbound_interactive_with_error.json"]) {
    const m = only(name);
    assert.equal(m.text, undefined);
    assert.equal(m.postback, undefined);
  }
});

test("statuses: sent, delivered, read, and failed with its error code", () => {
  for (const state of ["sent", "delivered", "read"] as const) {
    const [event] = normalizeWebhook(fixture(`status_${state}.json`));
    assert.ok(event?.type === "status");
    assert.equal(event.status.state, state);
    assert.equal(event.status.platformMessageId, "wamid.xyzxyz");
  }
  const [failed] = normalizeWebhook(fixture("status_failed.json"));
  assert.ok(failed?.type === "status");
  assert.deepEqual(failed.status.error, { code: "130472", message: "User's number is part of an experiment" });
});

test("several entries, changes and messages in one POST all come through", () => {
  const text = fixture("inbound_text.json");
  const status = fixture("status_read.json");
  const body = {
    object: "whatsapp_business_account",
    entry: [...text.entry, ...status.entry, { id: "x", changes: [{ field: "account_update", value: {} }] }],
  };
  body.entry[0].changes[0].value.messages.push({
    ...body.entry[0].changes[0].value.messages[0],
    id: "wamid.second",
    text: { body: "again" },
  });
  assert.deepEqual(
    normalizeWebhook(body).map((e) => e.type),
    ["message", "message", "status"],
  );
});
