import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { InboundEvent, InboundMessage } from "@cb/core";
import { normalize } from "../src/index.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
const only = (name: string): InboundMessage => {
  const events = normalize(fixture(name));
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
    const [event] = normalize(fixture(`status_${state}.json`));
    assert.ok(event?.type === "status");
    assert.equal(event.status.state, state);
    assert.equal(event.status.platformMessageId, "wamid.xyzxyz");
  }
  const [failed] = normalize(fixture("status_failed.json"));
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
    normalize(body).map((e) => e.type),
    ["message", "message", "status"],
  );
});

const base = {
  channel: "whatsapp",
  platformEventId: "wamid.xyzxyz",
  platformMessageId: "wamid.xyzxyz",
  conversation: { externalId: "972987654321", type: "private" },
  sender: { externalId: "972987654321", phone: "+972987654321", name: "Test Name" },
  addressedToBot: true,
};

test("every inbound fixture normalizes whole, with the raw change of that one message", () => {
  const at = (s: number) => new Date(s * 1000).toISOString();
  const whole = (name: string) => {
    const body = fixture(name);
    const [event] = normalize(body);
    assert.ok(event?.type === "message");
    const value = body.entry[0].changes[0].value;
    assert.deepEqual(event.raw, value, name);
    return event.message;
  };
  assert.deepEqual(whole("inbound_image.json"), {
    ...base,
    sentAt: at(1697043379),
    media: [{ kind: "image", id: "65463453", mimeType: "image/jpeg" }],
  });
  const button = whole("inbound_interactive_button_reply.json");
  assert.deepEqual(Object.keys(button).sort(), [...Object.keys(base), "postback", "replyTo", "sentAt"].sort());
  const quick = whole("inbound_template_quick_reply_button.json");
  assert.deepEqual(quick.postback, { payload: "callback_data", title: "title" });
  assert.equal(quick.text, undefined);
  const unsupported = whole("inbound_unsupported.json");
  assert.deepEqual(unsupported, { ...base, sentAt: at(1697044706) });
  const broken = whole("inbound_interactive_with_error.json");
  assert.deepEqual(broken, {
    ...base,
    platformEventId: "wamid.wegrchytvwcggt=",
    platformMessageId: "wamid.wegrchytvwcggt=",
    sentAt: at(1700505494),
    replyTo: "wamid.gvwegfretge==",
  });
  assert.deepEqual(whole("inbound_reaction.json").reaction, { emoji: "😮", messageId: "wamid.yzxyzx=" });
});

test("statuses whole; unknown states and other fields are skipped", () => {
  const [failed] = normalize(fixture("status_failed.json"));
  assert.ok(failed?.type === "status");
  assert.deepEqual(failed.status, {
    channel: "whatsapp",
    platformMessageId: "wamid.xyzxyz",
    state: "failed",
    at: new Date(1689380458 * 1000).toISOString(),
    error: { code: "130472", message: "User's number is part of an experiment" },
  });
  assert.deepEqual(failed.raw, fixture("status_failed.json").entry[0].changes[0].value.statuses[0]);
  const [read] = normalize(fixture("status_read.json"));
  assert.ok(read?.type === "status" && read.status.error === undefined && !("error" in read.status));
  const statuses = (s: Record<string, unknown>[]) =>
    normalize({ entry: [{ changes: [{ field: "messages", value: { statuses: s } }] }] }).map(
      (e) => e.type === "status" && [e.status.state, e.status.error],
    );
  const s = { id: "wamid.1", timestamp: "1700000000", recipient_id: "1" };
  assert.deepEqual(
    statuses([
      { ...s, status: "deleted" },
      { ...s, status: "warning" },
      { ...s, status: "failed", errors: [{ code: 131026, title: "Message undeliverable" }] },
      { ...s, status: "failed", errors: [{ code: 1 }] },
    ]),
    [
      ["failed", { code: "131026", message: "Message undeliverable" }],
      ["failed", { code: "1", message: "" }],
    ],
  );
  assert.deepEqual(
    normalize({
      entry: [
        { changes: [{ field: "account_update", value: { messages: [{ id: "x" }] } }, { field: "messages" }] },
        {},
      ],
    }),
    [],
  );
  assert.deepEqual(normalize({}), []);
});

const message = (
  m: Record<string, unknown>,
  contacts: unknown[] | null = [{ wa_id: "4915112345678", profile: { name: "Eve" } }],
) => {
  const [event] = normalize({
    entry: [
      {
        changes: [
          {
            field: "messages",
            value: {
              ...(contacts ? { contacts } : {}),
              messages: [{ from: "4915112345678", id: "wamid.m", timestamp: "1700000000", ...m }],
            },
          },
        ],
      },
    ],
  });
  assert.ok(event?.type === "message");
  return event.message;
};

test("every kind of media, with caption, file name and type; a missing media object is none", () => {
  assert.deepEqual(message({ type: "audio", audio: { id: "a1", mime_type: "audio/ogg" } }).media, [
    { kind: "audio", id: "a1", mimeType: "audio/ogg" },
  ]);
  const video = message({ type: "video", video: { id: "v1", mime_type: "video/mp4", caption: "look" } });
  assert.deepEqual(video.media, [{ kind: "video", id: "v1", mimeType: "video/mp4", caption: "look" }]);
  assert.equal(video.text, "look", "a caption is what they wrote");
  assert.deepEqual(
    message({ type: "document", document: { id: "d1", filename: "invoice.pdf", mime_type: "application/pdf" } }).media,
    [{ kind: "document", id: "d1", mimeType: "application/pdf", fileName: "invoice.pdf" }],
  );
  assert.deepEqual(message({ type: "sticker", sticker: { id: "s1" } }).media, [{ kind: "sticker", id: "s1" }]);
  assert.deepEqual(message({ type: "image", image: {} }).media, [{ kind: "image" }]);
  const bare = message({ type: "image" });
  assert.equal("media" in bare, false);
  assert.equal("text" in bare, false);
});

test("shared contacts, and senders with no profile name", () => {
  assert.deepEqual(
    message({
      type: "contacts",
      contacts: [
        {
          name: { formatted_name: "Ann Lee" },
          phones: [{ phone: "+1 555 0100" }, {}],
          emails: [{ email: "ann@example.com" }, {}],
        },
        { phones: [] },
        {},
      ],
    }).contacts,
    [
      { name: "Ann Lee", phones: ["+1 555 0100"], emails: ["ann@example.com"] },
      { name: "", phones: [] },
      { name: "", phones: [] },
    ],
  );
  assert.deepEqual(message({ type: "text", text: { body: "hi" } }, [{ wa_id: "4915112345678" }]).sender, {
    externalId: "4915112345678",
    phone: "+4915112345678",
  });
  assert.deepEqual(
    message({ type: "text", text: { body: "hi" } }, [{ wa_id: "1", profile: { name: "Other" } }]).sender,
    {
      externalId: "4915112345678",
      phone: "+4915112345678",
    },
  );
  assert.deepEqual(message({ type: "text", text: { body: "hi" } }, null).sender, {
    externalId: "4915112345678",
    phone: "+4915112345678",
  });
});
