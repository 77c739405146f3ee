import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { createEgress, parsePolicy } from "@cb/egress";
import { createFulfillmentClient } from "@cb/fulfillment";
import {
  applyContexts,
  askForMissing,
  createFulfill,
  createUnderstand,
  handleMessage,
  type TurnDeps,
} from "../src/index.ts";
import { setUp, startBackend, type Setup } from "./support.ts";

// Backends written for Dialogflow ES, unchanged: one with Google's dialogflow-fulfillment library,
// one plain JSON that routes on queryResult.action; the real NLU and a real database in between.
const { WebhookClient, Payload } = createRequire(import.meta.url)("dialogflow-fulfillment");

let s: Setup;
let deps: TurnDeps;
let library: { url: string; close(): Promise<void> };
let plain: Awaited<ReturnType<typeof startBackend>>;
const libraryRequests: any[] = [];
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
const client = createFulfillmentClient(egress);

/** The food-delivery backend, as its authors would write it for Dialogflow. */
function serveWithLibrary(request: any, response: any) {
  const agent = new WebhookClient({ request, response });
  libraryRequests.push(request.body);
  const intents = new Map<string, (agent: any) => void>();
  intents.set("order.new", (a) => {
    if (!a.parameters["food-items"].length) {
      // webhookForSlotFilling: the backend asks in its own words and remembers it showed the menu.
      a.add("We have pizza and fries today. What would you like?");
      a.setContext({ name: "menu-shown", lifespan: 3, parameters: { shown: "yes" } });
      return;
    }
    a.add("This text is dropped: a follow-up event replaces it.");
    a.setFollowupEvent({
      name: "ORDER_SUMMARY",
      parameters: { total: "12.50", menu: a.getContext("menu-shown")?.parameters.shown ?? "no" },
    });
  });
  intents.set("table.ask", (a) => {
    a.add("This text is dropped: a follow-up event replaces it.");
    a.setFollowupEvent({ name: "BOOK_TABLE", parameters: { day: "friday" } });
  });
  intents.set("table.book", (a) => {
    a.add(`A table for ${a.parameters.guests} on ${a.parameters.day}.`);
  });
  intents.set("menu.show", (a) => {
    // The library's Payload for the platform the request came from (originalDetectIntentRequest.source).
    if (a.requestSource === a.TELEGRAM)
      a.add(
        new Payload(
          a.TELEGRAM,
          { text: "Pick one", reply_markup: { inline_keyboard: [[{ text: "Pizza", callback_data: "PIZZA" }]] } },
          { sendAsMessage: true },
        ),
      );
    else
      a.add(
        new Payload(
          a.FACEBOOK,
          { text: "Pick one", quick_replies: [{ content_type: "text", title: "Pizza", payload: "PIZZA" }] },
          { sendAsMessage: true },
        ),
      );
  });
  return agent.handleRequest(intents);
}

before(async () => {
  s = await setUp();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const request = Object.assign(req, { body: JSON.parse(body) });
      const response = Object.assign(res, {
        status: (code: number) => {
          res.statusCode = code;
          return response;
        },
        send: (text: string) => res.end(text),
        json: (value: unknown) => {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify(value));
        },
      });
      serveWithLibrary(request, response).catch(() => {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  library = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  plain = await startBackend((request) => {
    const { action, outputContexts } = request.queryResult;
    const order = outputContexts.find((c: any) => c.name.endsWith("/contexts/ongoing-order"));
    switch (action) {
      case "order.track":
        return { body: { fulfillmentText: `Your ${order.parameters["food-items"].join(" + ")} are in the oven.` } };
      case "order.cancel":
        return {
          body: {
            fulfillmentText: "Order cancelled.",
            outputContexts: [{ name: order.name, lifespanCount: 0 }],
          },
        };
      default:
        return { status: 400, body: { error: `no route for action "${action}"` } };
    }
  });
  const [withLibrary, withJson] = await Promise.all(
    [library.url, plain.url].map((url, n) =>
      s.t.db.fulfillmentEndpoint.create({ data: { tenantId: s.tenantId, name: `backend-${n}`, url, timeoutMs: 3000 } }),
    ),
  );
  await s.t.db.entityType.create({
    data: {
      tenantId: s.tenantId,
      name: "food",
      kind: "list",
      entries: [
        { value: "pizza", synonyms: ["pizzas"] },
        { value: "fries", synonyms: ["chips"] },
      ],
    },
  });
  const intents = [
    {
      name: "order.new",
      examples: ["I want to order food", "new order", "start an order", "I'd like to place an order"],
      parameters: [
        { name: "food-items", entity: "@food", required: true, isList: true, prompts: ["What would you like?"] },
      ],
      outputContexts: [{ name: "ongoing-order", lifespan: 5 }],
      action: "order.add",
      webhookForSlotFilling: true,
      responses: [{ type: "text", text: "Added $food-items." }],
      fulfillmentEndpointId: withLibrary!.id,
    },
    {
      name: "order.summary",
      examples: [],
      events: ["ORDER_SUMMARY"],
      responses: [
        {
          type: "text",
          text: "Your #ongoing-order.food-items come to #order_summary.total EUR (menu shown: #ORDER_SUMMARY.menu).",
        },
      ],
    },
    {
      name: "order.track",
      examples: ["track my order", "where is my order", "is my food on its way"],
      inputContexts: ["ongoing-order"],
      action: "order.track",
      fulfillmentEndpointId: withJson!.id,
    },
    {
      name: "order.cancel",
      examples: ["cancel my order", "I don't want it anymore", "cancel it"],
      inputContexts: ["ongoing-order"],
      action: "order.cancel",
      fulfillmentEndpointId: withJson!.id,
    },
    {
      name: "menu.show",
      examples: ["show me the menu", "what is on the menu", "menu please"],
      fulfillmentEndpointId: withLibrary!.id,
    },
    { name: "fallback", examples: [], isFallback: true, responses: [{ type: "text", text: "Sorry?" }] },
  ];
  for (const intent of intents) await s.t.db.intent.create({ data: { tenantId: s.tenantId, ...intent } });
  deps = {
    db: s.t.db,
    pool: s.t.pool,
    accounts: s.accounts,
    understand: createUnderstand(s.t.db, { pool: s.t.pool }),
    fulfill: createFulfill({ sealer: s.sealer, client }),
    applyContexts,
    askForMissing,
  };
});
after(async () => {
  client.shutdown();
  await egress.close();
  await library.close();
  await plain.close();
  await s.close();
});

const say = async (chat: string, text: string) =>
  handleMessage(deps, await s.receive({ channel: "messenger", chat, text }));
const sentTo = (chat: string) =>
  s.graph.calls.filter((c) => c.body.recipient?.id === chat).map((c) => c.body.message.text);

test("dialogflow-fulfillment: setContext while slot filling, setFollowupEvent on completion; a plain-JSON backend routes on action", async () => {
  await say("401", "I want to order food");
  const [prompting] = libraryRequests;
  assert.equal(prompting.queryResult.allRequiredParamsPresent, false);
  assert.equal(prompting.queryResult.action, "order.add");
  assert.equal(prompting.queryResult.fulfillmentText, "What would you like?");
  assert.deepEqual(prompting.queryResult.parameters, { "food-items": [] });
  assert.deepEqual(prompting.queryResult.outputContexts, [], "the intent's output context waits for completion");

  await say("401", "pizza and fries");
  const completed = libraryRequests[1];
  assert.equal(completed.queryResult.allRequiredParamsPresent, true);
  assert.deepEqual(completed.queryResult.fulfillmentMessages, [{ text: { text: ["Added pizza and fries."] } }]);
  const contexts = Object.fromEntries(
    completed.queryResult.outputContexts.map((c: any) => [c.name.split("/").at(-1), [c.lifespanCount, c.parameters]]),
  );
  assert.deepEqual(contexts["ongoing-order"], [
    5,
    { "food-items": ["pizza", "fries"], "food-items.original": "pizza, fries" },
  ]);
  assert.deepEqual(contexts["menu-shown"], [2, { shown: "yes" }], "the context the backend set while prompting");

  await say("401", "where is my order");
  await say("401", "cancel my order");
  await say("401", "where is my order");
  assert.deepEqual(sentTo("401"), [
    "We have pizza and fries today. What would you like?",
    "Your pizza and fries come to 12.50 EUR (menu shown: yes).",
    "Your pizza + fries are in the oven.",
    "Order cancelled.",
    "Sorry?",
  ]);
  assert.deepEqual(
    plain.received.map((r) => r.queryResult.action),
    ["order.track", "order.cancel"],
    "the order context the cancel removed no longer lets tracking match",
  );
});

test("dialogflow-fulfillment's Payload for Facebook reaches Messenger as the message object it holds", async () => {
  await say("402", "show me the menu");
  const request = libraryRequests.at(-1);
  assert.equal(request.originalDetectIntentRequest.source, "facebook");
  const [sent] = s.graph.calls.filter((c) => c.body.recipient?.id === "402");
  assert.deepEqual(sent?.body.message, {
    text: "Pick one",
    quick_replies: [{ content_type: "text", title: "Pizza", payload: "PIZZA" }],
  });
});

test("dialogflow-fulfillment's Payload for Telegram (Dialogflow's format, no method) reaches the Bot API as sendMessage", async () => {
  await handleMessage(deps, await s.receive({ channel: "telegram", chat: "403", text: "show me the menu" }));
  assert.equal(libraryRequests.at(-1).originalDetectIntentRequest.source, "telegram");
  const sent = s.telegram.calls.filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === "403");
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.params.text, "Pick one");
  assert.deepEqual(sent[0]!.params.reply_markup, { inline_keyboard: [[{ text: "Pizza", callback_data: "PIZZA" }]] });
});

test("a followupEventInput whose intent lacks a required parameter asks for it, as a matched intent does, and completes with the answer", async () => {
  const endpoint = await s.t.db.fulfillmentEndpoint.findFirstOrThrow({ where: { url: library.url } });
  await s.t.db.intent.createMany({
    data: [
      {
        tenantId: s.tenantId,
        name: "table.ask",
        examples: ["I need to book a table", "reserve a table", "a table please"],
        fulfillmentEndpointId: endpoint.id,
      },
      {
        tenantId: s.tenantId,
        name: "table.book",
        examples: [],
        events: ["BOOK_TABLE"],
        parameters: [
          { name: "day", entity: "@sys.date", required: true, prompts: ["Which day?"] },
          { name: "guests", entity: "@sys.number", required: true, prompts: ["For how many people?"] },
        ],
        outputContexts: [{ name: "booking", lifespan: 2 }],
        fulfillmentEndpointId: endpoint.id,
      },
    ],
  });
  const before = libraryRequests.length;
  await say("404", "I need to book a table");
  assert.deepEqual(sentTo("404"), ["For how many people?"], "the event gave the day; the guests are asked for");
  assert.deepEqual(
    libraryRequests.slice(before).map((r) => r.queryResult.intent.displayName),
    ["table.ask"],
    "no backend call for the triggered intent while its parameter is missing (no webhookForSlotFilling)",
  );
  const { state } = await s.t.db.conversation.findFirstOrThrow({ where: { externalId: "404" } });
  assert.ok(
    !(state as { contexts?: { name: string }[] }).contexts?.some((c) => c.name === "booking"),
    "its output context waits for the intent to complete",
  );

  await say("404", "4 people");
  const completed = libraryRequests.at(-1);
  assert.equal(completed.queryResult.intent.displayName, "table.book");
  assert.equal(completed.queryResult.allRequiredParamsPresent, true);
  assert.deepEqual(sentTo("404"), ["For how many people?", "A table for 4 on friday."]);
  const booking = completed.queryResult.outputContexts.find((c: any) => c.name.endsWith("/contexts/booking"));
  assert.deepEqual(
    [booking?.lifespanCount, booking?.parameters.day, booking?.parameters.guests],
    [2, "friday", 4],
    "completed: its output context is set, with the event's parameter and the answer",
  );
});
