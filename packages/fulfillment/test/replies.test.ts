import { test } from "node:test";
import assert from "node:assert/strict";
import type { Channel } from "@cb/core";
import { buildWebhookRequest, contextShortName, toMessages, toReplies, type RequestInput } from "../src/index.ts";

test("each Dialogflow message type becomes its reply", () => {
  const replies = toReplies(
    {
      fulfillmentMessages: [
        { text: { text: ["line one", "line two"] } },
        { text: {} },
        { image: { imageUri: "https://img.example/a.png", accessibilityText: "a parcel" } },
        { image: { imageUri: "https://img.example/b.png" } },
        { quickReplies: { title: "Pick", quickReplies: ["Yes", "No"] } },
        { quickReplies: {} },
        {
          card: {
            title: "Order",
            subtitle: "shipped",
            imageUri: "https://img.example/c.png",
            buttons: [
              { text: "Track", postback: "https://track.example/1" },
              { text: "Upper", postback: "HTTP://track.example/2" },
              { text: "Return", postback: "RETURN_1" },
              { text: "Not a link", postback: "see https://x.example" },
              { text: "Other scheme", postback: "ftp://files.example" },
              { text: "Only text" },
              { postback: "ONLY_POSTBACK" },
              {},
            ],
          },
        },
        { card: {} },
      ],
    },
    "telegram",
  );
  assert.deepEqual(replies, [
    { type: "text", text: "line one\nline two" },
    { type: "text", text: "" },
    { type: "image", url: "https://img.example/a.png", caption: "a parcel" },
    { type: "image", url: "https://img.example/b.png" },
    {
      type: "text",
      text: "Pick",
      quickReplies: [
        { title: "Yes", payload: "Yes" },
        { title: "No", payload: "No" },
      ],
    },
    { type: "text", text: "Choose one:", quickReplies: [] },
    {
      type: "cards",
      cards: [
        {
          title: "Order",
          subtitle: "shipped",
          imageUrl: "https://img.example/c.png",
          buttons: [
            { type: "url", title: "Track", url: "https://track.example/1" },
            { type: "url", title: "Upper", url: "HTTP://track.example/2" },
            { type: "postback", title: "Return", payload: "RETURN_1" },
            { type: "postback", title: "Not a link", payload: "see https://x.example" },
            { type: "postback", title: "Other scheme", payload: "ftp://files.example" },
            { type: "postback", title: "Only text", payload: "Only text" },
            { type: "postback", title: "ONLY_POSTBACK", payload: "ONLY_POSTBACK" },
            { type: "postback", title: "", payload: "" },
          ],
        },
      ],
    },
    { type: "cards", cards: [{ title: "" }] },
  ]);
});

test("messages that say nothing for this channel are left out", () => {
  assert.deepEqual(
    toReplies(
      {
        fulfillmentMessages: [
          { image: { accessibilityText: "no picture" } },
          { payload: { slack: { blocks: [] } } },
          {},
          { text: { text: ["kept"] } },
        ],
      },
      "telegram",
    ),
    [{ type: "text", text: "kept" }],
  );
});

test("a platform's own messages win over platform-independent ones; other platforms' are ignored", () => {
  const messages = [
    { text: { text: ["generic"] } },
    { platform: "PLATFORM_UNSPECIFIED", text: { text: ["unspecified"] } },
    { platform: "TELEGRAM", text: { text: ["telegram"] } },
    { platform: "FACEBOOK", text: { text: ["facebook"] } },
    { platform: "SLACK", text: { text: ["slack"] } },
  ];
  const texts = (channel: Channel, list = messages) =>
    toReplies({ fulfillmentMessages: list }, channel).map((r) => (r.type === "text" ? r.text : r.type));
  assert.deepEqual(texts("telegram"), ["telegram"]);
  assert.deepEqual(texts("messenger"), ["facebook"]);
  assert.deepEqual(texts("slack"), ["slack"]);
  assert.deepEqual(texts("whatsapp"), ["generic", "unspecified"], "no WhatsApp messages: the generic ones");
  assert.deepEqual(texts("whatsapp", [...messages, { platform: "WHATSAPP", text: { text: ["whatsapp"] } }]), [
    "whatsapp",
  ]);
  assert.deepEqual(texts("telegram", messages.slice(3)), [], "only other platforms': nothing");
});

test("fulfillmentText answers only when no message does", () => {
  assert.deepEqual(toReplies({ fulfillmentText: "plain" }, "slack"), [{ type: "text", text: "plain" }]);
  assert.deepEqual(
    toReplies({ fulfillmentText: "plain", fulfillmentMessages: [{ text: { text: ["rich"] } }] }, "slack"),
    [{ type: "text", text: "rich" }],
  );
  assert.deepEqual(
    toReplies(
      { fulfillmentText: "plain", fulfillmentMessages: [{ platform: "TELEGRAM", text: { text: ["tg"] } }] },
      "slack",
    ),
    [{ type: "text", text: "plain" }],
    "messages for another platform leave fulfillmentText",
  );
  assert.deepEqual(toReplies({ fulfillmentText: "" }, "slack"), []);
  assert.deepEqual(toReplies({}, "slack"), []);
});

test("payloads are keyed by Dialogflow's platform name (or the channel's own), in messages and at the top", () => {
  const keyed = {
    telegram: { method: "sendDice", t: 1 },
    facebook: { f: 1 },
    slack: { s: 1 },
    whatsapp: { w: 1 },
    webchat: { c: 1 },
  };
  const expected: Record<Channel, Record<string, unknown>> = {
    telegram: { method: "sendDice", t: 1 },
    messenger: { f: 1 },
    slack: { s: 1 },
    whatsapp: { w: 1 },
    webchat: { c: 1 },
  };
  for (const channel of ["telegram", "messenger", "slack", "whatsapp", "webchat"] as const) {
    const custom = { type: "custom", channel, payload: expected[channel] };
    assert.deepEqual(toReplies({ fulfillmentMessages: [{ payload: keyed }] }, channel), [custom], channel);
    assert.deepEqual(toReplies({ fulfillmentText: "hi", payload: keyed }, channel), [
      { type: "text", text: "hi" },
      custom,
    ]);
  }
  const own = { type: "custom", channel: "messenger", payload: { m: 1 } };
  assert.deepEqual(toReplies({ fulfillmentMessages: [{ payload: { messenger: { m: 1 } } }] }, "messenger"), [own]);
  assert.deepEqual(toReplies({ payload: { messenger: { m: 1 } } }, "messenger"), [own]);
  assert.deepEqual(toReplies({ payload: { slack: { s: 1 } } }, "messenger"), [], "another platform's payload");
});

test("Dialogflow's Telegram payload format: the Bot API method follows from its fields", () => {
  const keyboard = { inline_keyboard: [[{ text: "Track", callback_data: "TRACK" }]] };
  const telegram = (payload: Record<string, unknown>) => toReplies({ payload: { telegram: payload } }, "telegram");
  assert.deepEqual(telegram({ text: "*Hi*", parse_mode: "Markdown", reply_markup: keyboard }), [
    {
      type: "custom",
      channel: "telegram",
      payload: { method: "sendMessage", text: "*Hi*", parse_mode: "Markdown", reply_markup: keyboard },
    },
  ]);
  assert.deepEqual(telegram({ photo: "https://img.example/p.png", caption: "p" }), [
    {
      type: "custom",
      channel: "telegram",
      payload: { method: "sendPhoto", photo: "https://img.example/p.png", caption: "p" },
    },
  ]);
  assert.deepEqual(telegram({ latitude: 52.5, longitude: 13.4 }), [
    { type: "custom", channel: "telegram", payload: { method: "sendLocation", latitude: 52.5, longitude: 13.4 } },
  ]);
  assert.deepEqual(telegram({ method: "sendDice" }), [
    { type: "custom", channel: "telegram", payload: { method: "sendDice" } },
  ]);
  assert.deepEqual(telegram({ nothing: "to send" }), [], "no field a Bot API method sends");
  assert.deepEqual(toReplies({ payload: { telegram: "text" } }, "telegram"), [], "not an object");
  assert.deepEqual(
    toReplies({ fulfillmentMessages: [{ payload: { telegram: { text: "in a message" } } }] }, "telegram"),
    [{ type: "custom", channel: "telegram", payload: { method: "sendMessage", text: "in a message" } }],
  );
});

test("Messenger and Slack payloads in Dialogflow's formats are sent as they are", () => {
  const template = {
    attachment: { type: "template", payload: { template_type: "button", text: "Pick", buttons: [] } },
    quick_replies: [{ content_type: "text", title: "Yes", payload: "YES" }],
  };
  assert.deepEqual(toReplies({ payload: { facebook: template } }, "messenger"), [
    { type: "custom", channel: "messenger", payload: template },
  ]);
  const slack = { text: "Hi", attachments: [{ text: "a" }], blocks: [{ type: "divider" }] };
  assert.deepEqual(toReplies({ fulfillmentMessages: [{ platform: "SLACK", payload: { slack } }] }, "slack"), [
    { type: "custom", channel: "slack", payload: slack },
  ]);
});

const input = (over: Partial<RequestInput> = {}): RequestInput => ({
  responseId: "r",
  projectId: "p",
  sessionId: "s",
  queryText: "q",
  languageCode: "en",
  intent: { id: "i", displayName: "d" },
  confidence: 0.5,
  parameters: {},
  allRequiredParamsPresent: true,
  contexts: [{ name: "bare", lifespanCount: 3 }],
  channel: "telegram",
  payload: {},
  ...over,
});

test("a WebhookRequest carries the intent's own responses (empty when it has none), and each channel's source", () => {
  const plain = buildWebhookRequest(input());
  assert.equal(plain.queryResult.fulfillmentText, "", "present, as Dialogflow sends it, even when empty");
  assert.deepEqual(plain.queryResult.fulfillmentMessages, []);
  assert.deepEqual(plain.queryResult.outputContexts, [
    { name: "projects/p/agent/sessions/s/contexts/bare", lifespanCount: 3, parameters: {} },
  ]);
  const messages = [{ text: { text: ["static"] } }];
  const rich = buildWebhookRequest(input({ fulfillmentText: "", fulfillmentMessages: messages }));
  assert.equal(rich.queryResult.fulfillmentText, "", "an empty text is still the intent's text");
  assert.deepEqual(rich.queryResult.fulfillmentMessages, messages);
  const sources = Object.fromEntries(
    (["telegram", "messenger", "slack", "whatsapp"] as const).map((channel) => [
      channel,
      buildWebhookRequest(input({ channel })).originalDetectIntentRequest,
    ]),
  );
  assert.deepEqual(sources, {
    telegram: { source: "telegram", version: "2", payload: {} },
    messenger: { source: "facebook", version: "2", payload: {} },
    slack: { source: "slack", version: "2", payload: {} },
    whatsapp: { version: "2", payload: {} },
  });
});

test('a WebhookRequest has the intent\'s action, every declared parameter (unfilled ones as "" or []) and diagnosticInfo', () => {
  const r = buildWebhookRequest(
    input({
      action: "order.add",
      parameters: { size: "large" },
      declared: [{ name: "size" }, { name: "food-items", isList: true }, { name: "address" }],
      allRequiredParamsPresent: false,
    }),
  );
  assert.equal(r.queryResult.action, "order.add");
  assert.deepEqual(r.queryResult.parameters, { size: "large", "food-items": [], address: "" });
  assert.deepEqual(r.queryResult.diagnosticInfo, {});
  assert.equal(buildWebhookRequest(input()).queryResult.action, "", "no action is an empty string, as in Dialogflow");
});

test("replies become Dialogflow messages: text, quick replies, card, image, custom payloads by platform", () => {
  assert.deepEqual(
    toMessages([
      { type: "text", text: "Hello" },
      { type: "text", text: "Pick", quickReplies: [{ title: "Yes", payload: "yes" }] },
      {
        type: "cards",
        cards: [
          {
            title: "Pizza",
            subtitle: "Large",
            imageUrl: "https://img.example/p.png",
            buttons: [
              { type: "url", title: "Menu", url: "https://shop.example/menu" },
              { type: "postback", title: "Order", payload: "order pizza" },
            ],
          },
        ],
      },
      { type: "buttons", text: "Next?", buttons: [{ type: "postback", title: "Track", payload: "track" }] },
      { type: "image", url: "https://img.example/q.png", caption: "Our shop" },
      { type: "custom", channel: "messenger", payload: { text: "raw" } },
    ]),
    [
      { text: { text: ["Hello"] } },
      { quickReplies: { title: "Pick", quickReplies: ["Yes"] } },
      {
        card: {
          title: "Pizza",
          subtitle: "Large",
          imageUri: "https://img.example/p.png",
          buttons: [
            { text: "Menu", postback: "https://shop.example/menu" },
            { text: "Order", postback: "order pizza" },
          ],
        },
      },
      { card: { title: "Next?", buttons: [{ text: "Track", postback: "track" }] } },
      { image: { imageUri: "https://img.example/q.png", accessibilityText: "Our shop" } },
      { payload: { facebook: { text: "raw" } } },
    ],
  );
});

test("a context's short name comes from its resource name", () => {
  assert.equal(contextShortName("projects/p/agent/sessions/s/contexts/order-followup"), "order-followup");
  assert.equal(contextShortName("order"), "order");
});
