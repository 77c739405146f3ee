import { test } from "node:test";
import assert from "node:assert/strict";
import { HttpError } from "@cb/core";
import { strToU8, zipSync } from "fflate";
import { readAgentZip } from "../src/dialogflow-import.ts";

/** A Dialogflow ES export as the console zips it: file name → JSON (or raw text). */
const zip = (files: Record<string, unknown>) =>
  zipSync(
    Object.fromEntries(
      Object.entries(files).map(([name, value]) => [
        name,
        strToU8(typeof value === "string" ? value : JSON.stringify(value)),
      ]),
    ),
  );
const says = (...texts: string[][]) => texts.map((parts) => ({ data: parts.map((text) => ({ text })) }));

const orderStatus = {
  name: "order.status",
  contexts: ["shop"],
  webhookUsed: true,
  webhookForSlotFilling: true,
  events: [{ name: "ORDER_STATUS" }, { name: "TELEGRAM_WELCOME" }],
  responses: [
    {
      action: "order.status.check",
      affectedContexts: [{ name: "order", lifespan: 3 }, { name: "brief" }],
      parameters: [
        {
          name: "order_id",
          dataType: "@order_id",
          required: true,
          isList: false,
          prompts: [
            { lang: "en", value: "What is your order number?" },
            { lang: "de", value: "Wie lautet Ihre Bestellnummer?" },
          ],
        },
        { name: "when", dataType: "@sys.date" },
      ],
      messages: [
        { type: 0, lang: "en", speech: ["Let me check.", "One moment."] },
        { type: 0, lang: "de", speech: "Ich sehe nach." },
        { type: "0", speech: "" },
        {
          type: 1,
          title: "Your order",
          subtitle: "shipped",
          imageUrl: "https://shop.example/p.png",
          buttons: [
            { text: "Track it", postback: "https://track.example/1" },
            { text: "Return it", postback: "return it" },
            { text: "Help" },
            {},
          ],
        },
        { type: 1, buttons: [] },
        { type: 2, title: "More?", replies: ["Yes", "No"] },
        { type: 2 },
        { type: 3, imageUrl: "https://shop.example/map.png" },
        { type: 3 },
        { type: 4, payload: { telegram: {} } },
      ],
    },
  ],
};

test("an agent's intents: phrases, parameters with their prompts, responses, contexts and webhook use", () => {
  const agent = readAgentZip(
    zip({
      "agent.json": { language: "en" },
      "intents/order.status.json": orderStatus,
      "intents/order.status_usersays_en.json": says(["where is order ", "12345"], ["  track my parcel "], [""]),
      "intents/order.status_usersays_de.json": says(["wo ist meine Bestellung"]),
      "intents/Default Fallback Intent.json": { name: "Default Fallback Intent", fallbackIntent: true },
    }),
  );
  assert.equal(agent.language, "en");
  assert.deepEqual(agent.entityTypes, []);
  const status = agent.intents.find((i) => i.name === "order.status");
  assert.deepEqual(status, {
    name: "order.status",
    examples: ["where is order 12345", "track my parcel"],
    parameters: [
      {
        name: "order_id",
        entity: "@order_id",
        required: true,
        prompts: ["What is your order number?"],
        isList: false,
      },
      { name: "when", entity: "@sys.date", required: false, prompts: [], isList: false },
    ],
    responses: [
      { type: "text", text: "Let me check.", variants: ["Let me check.", "One moment."] },
      {
        type: "cards",
        cards: [
          {
            title: "Your order",
            subtitle: "shipped",
            imageUrl: "https://shop.example/p.png",
            buttons: [
              { type: "url", title: "Track it", url: "https://track.example/1" },
              { type: "postback", title: "Return it", payload: "return it" },
              { type: "postback", title: "Help", payload: "Help" },
              { type: "postback", title: "", payload: "" },
            ],
          },
        ],
      },
      { type: "cards", cards: [{ title: "", buttons: [] }] },
      {
        type: "text",
        text: "More?",
        quickReplies: [
          { title: "Yes", payload: "Yes" },
          { title: "No", payload: "No" },
        ],
      },
      { type: "text", text: "", quickReplies: [] },
      { type: "image", url: "https://shop.example/map.png" },
    ],
    isFallback: false,
    inputContexts: ["shop"],
    outputContexts: [
      { name: "order", lifespan: 3 },
      { name: "brief", lifespan: 5 },
    ],
    webhookUsed: true,
    action: "order.status.check",
    events: ["ORDER_STATUS", "TELEGRAM_WELCOME"],
    webhookForSlotFilling: true,
    priority: 500000,
    resetContexts: false,
    endInteraction: false,
    unmapped: ["parameter order_id: the agent has no entity type @order_id, so it is never filled"],
  });
  const fallback = agent.intents.find((i) => i.name === "Default Fallback Intent");
  assert.deepEqual(fallback, {
    name: "Default Fallback Intent",
    examples: [],
    parameters: [],
    responses: [],
    isFallback: true,
    inputContexts: [],
    outputContexts: [],
    webhookUsed: false,
    action: "",
    events: [],
    webhookForSlotFilling: false,
    priority: 500000,
    resetContexts: false,
    endInteraction: false,
    unmapped: [],
  });
  assert.equal(agent.intents.length, 2, "training phrase files are not intents");
});

test("events, action, priority, context reset, slot-filling webhook and end of conversation are imported", () => {
  const agent = readAgentZip(
    zip({
      "agent.json": {},
      "intents/welcome.json": {
        name: "welcome",
        priority: 750000,
        webhookForSlotFilling: true,
        events: [{ name: "WELCOME" }, { name: "TELEGRAM_WELCOME" }, {}],
        responses: [{ action: "input.welcome", resetContexts: true, endInteraction: true, messages: [] }],
      },
      "intents/ignored.json": { name: "ignored", priority: -1, responses: [{ action: "" }] },
    }),
  );
  const [ignored, welcome] = agent.intents.sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(
    [welcome!.events, welcome!.action, welcome!.priority, welcome!.resetContexts, welcome!.webhookForSlotFilling],
    [["WELCOME", "TELEGRAM_WELCOME"], "input.welcome", 750000, true, true],
  );
  assert.equal(welcome!.endInteraction, true);
  assert.deepEqual([ignored!.priority, ignored!.action], [-1, ""], "an empty action is none");
});

test("messages for a platform are kept to its channel; other platforms' and unknown types are listed as unmapped", () => {
  const keyboard = { inline_keyboard: [[{ text: "Menu", callback_data: "MENU" }]] };
  const agent = readAgentZip(
    zip({
      "agent.json": {},
      "entities/combo.json": { name: "combo", isEnum: true },
      "entities/combo_entries_en.json": [{ value: "@sys.number:n @size:s" }],
      "intents/menu.json": {
        name: "menu",
        conditionalResponses: [{}],
        responses: [
          {
            parameters: [
              { name: "who", dataType: "@sys.given-name" },
              { name: "when", dataType: "@sys.time-period" },
              { name: "blank", dataType: "" },
            ],
            messages: [
              { type: 0, speech: "Our menu:" },
              { type: 0, platform: "facebook", speech: "Our menu (Messenger):" },
              { type: 2, platform: "facebook", title: "Pick", replies: ["Pizza"] },
              { type: 4, platform: "telegram", payload: { telegram: { text: "Menu", reply_markup: keyboard } } },
              { type: 4, platform: "slack", payload: { text: "Menu", blocks: [] } },
              { type: 4, payload: { facebook: { text: "raw" }, line: { x: 1 } } },
              { type: "suggestion_chips", platform: "google", suggestions: [{ title: "Hours" }] },
              { type: 0, platform: "line", speech: "line" },
              { type: "simple_response", platform: "telegram" },
            ],
          },
        ],
      },
    }),
  );
  assert.deepEqual(agent.intents[0]!.responses, [
    { type: "text", text: "Our menu:" },
    { type: "text", text: "Our menu (Messenger):", platform: "messenger" },
    { type: "text", text: "Pick", quickReplies: [{ title: "Pizza", payload: "Pizza" }], platform: "messenger" },
    {
      type: "custom",
      channel: "telegram",
      payload: { method: "sendMessage", text: "Menu", reply_markup: keyboard },
      platform: "telegram",
    },
    { type: "custom", channel: "slack", payload: { text: "Menu", blocks: [] }, platform: "slack" },
    { type: "custom", channel: "messenger", payload: { text: "raw" } },
  ]);
  assert.deepEqual(
    agent.intents[0]!.parameters.map((p) => p.name),
    ["who", "when"],
  );
  assert.deepEqual(agent.unmapped, [
    {
      entityType: "combo",
      items: ["a composite entity (entries made of other entities) is not supported, so it is not imported"],
    },
    {
      intent: "menu",
      items: [
        "parameter when: @sys.time-period is not read here, so it is never filled",
        "parameter blank: no entity type, so it is not imported",
        'a "suggestion_chips" message for google: no such channel here, so it is not imported',
        "a text message for line: no such channel here, so it is not imported",
        'a "simple_response" message for telegram: no such message type here',
        "conditional responses: not supported",
      ],
    },
  ]);
  assert.deepEqual(agent.entityTypes, [], "the composite entity is left out");
});

test("odd values in the new fields are read safely, never thrown on", () => {
  const agent = readAgentZip(
    zip({
      "agent.json": {},
      "intents/odd.json": {
        name: "odd",
        priority: 1e12,
        events: "WELCOME",
        responses: [
          {
            action: 7,
            resetContexts: "yes",
            messages: [
              { type: 4, platform: "constructor" },
              { type: 4, payload: "x" },
            ],
          },
        ],
      },
      "intents/odd2.json": { name: "odd2", priority: -50, events: [null, { name: 3 }, { name: "E" }] },
    }),
  );
  const [odd, odd2] = agent.intents.sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(
    [odd!.priority, odd!.events, odd!.action, odd!.resetContexts, odd!.responses],
    [1_000_000, [], "", false, []],
  );
  assert.deepEqual([odd2!.priority, odd2!.events], [-1, ["E"]]);
});

test("another language: chosen by the agent or by the caller, for phrases, prompts and responses", () => {
  const files = {
    "agent.json": { language: "de" },
    "intents/order.status.json": orderStatus,
    "intents/order.status_usersays_en.json": says(["where is my order"]),
    "intents/order.status_usersays_de.json": says(["wo ist meine Bestellung"]),
  };
  const de = readAgentZip(zip(files)).intents[0]!;
  assert.deepEqual(de.examples, ["wo ist meine Bestellung"]);
  assert.deepEqual(de.parameters[0]!.prompts, ["Wie lautet Ihre Bestellnummer?"]);
  assert.deepEqual(de.responses[0], { type: "text", text: "Ich sehe nach." });
  const en = readAgentZip(zip(files), "en");
  assert.equal(en.language, "en");
  assert.deepEqual(en.intents[0]!.examples, ["where is my order"]);
  const none = readAgentZip(zip({ ...files, "agent.json": {} }));
  assert.equal(none.language, "en", "English when the agent names none");
  assert.deepEqual(readAgentZip(zip(files), "fr").intents[0]!.examples, [], "no phrases in that language");
});

test("entities: lists with their synonyms, and regular expressions", () => {
  const agent = readAgentZip(
    zip({
      "shop-agent/agent.json": { language: "en" },
      "shop-agent/entities/size.json": { name: "size" },
      "shop-agent/entities/size_entries_en.json": [
        { value: "large", synonyms: ["large", "big", "XL"] },
        { value: "small" },
      ],
      "shop-agent/entities/size_entries_de.json": [{ value: "groß", synonyms: ["gross"] }],
      "shop-agent/entities/order_id.json": { name: "order_id", isRegexp: true },
      "shop-agent/entities/order_id_entries_en.json": [{ value: "\\d{5}" }, { value: "A-\\d{4}" }],
      "shop-agent/entities/empty.json": { name: "empty" },
    }),
  );
  assert.deepEqual(
    agent.entityTypes.sort((a, b) => a.name.localeCompare(b.name)),
    [
      { name: "empty", kind: "list", entries: [] },
      { name: "order_id", kind: "pattern", pattern: "(?:\\d{5})|(?:A-\\d{4})" },
      {
        name: "size",
        kind: "list",
        entries: [
          { value: "large", synonyms: ["big", "XL"] },
          { value: "small", synonyms: [] },
        ],
      },
    ],
  );
});

test("what is not a Dialogflow ES export is a 400 that says why", () => {
  const refused = (body: Uint8Array, code: string, message: RegExp) =>
    assert.throws(
      () => readAgentZip(body),
      (err: unknown) =>
        err instanceof HttpError && err.statusCode === 400 && err.code === code && message.test(err.message),
    );
  refused(strToU8("not a zip"), "invalid_zip", /not a zip archive/);
  refused(zip({ "intents/a.json": { name: "a" } }), "invalid_agent", /no agent\.json/);
  refused(zip({ "agent.json": "{ nope" }), "invalid_agent", /^agent\.json is not valid JSON$/);
  refused(
    zip({ "agent.json": {}, "intents/a.json": "[", "intents/a_usersays_en.json": [] }),
    "invalid_agent",
    /^intents\/a\.json is not valid JSON$/,
  );
});
