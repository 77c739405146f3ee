import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { createEgress, parsePolicy } from "@cb/egress";
import { buildWebhookRequest, createFulfillmentClient, toReplies } from "../src/index.ts";
import { startReceiver } from "./helpers.ts";

// The dialogflow-fulfillment library (Google's, written for Dialogflow ES) serves the intents: if it
// works unchanged against our requests, Dialogflow fulfillment code does.
const { WebhookClient, Card, Suggestion } = createRequire(import.meta.url)("dialogflow-fulfillment");

let backend: Awaited<ReturnType<typeof startReceiver>>;
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
const client = createFulfillmentClient(egress);

before(async () => {
  backend = await startReceiver((req, res) => {
    const request = Object.assign(req, { body: JSON.parse(req.rawBody) });
    const response = Object.assign(res, {
      json: (value: unknown) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(value));
      },
    });
    const agent = new WebhookClient({ request, response });
    const intents = new Map<string, (agent: any) => void>();
    intents.set("order.status", (a) => {
      const id = a.parameters.order_id;
      const seen = a.getContext("order");
      a.add(seen ? `Still order ${seen.parameters.order_id}: shipped.` : `Order ${id} has shipped.`);
      a.add(
        new Card({
          title: `Order ${id}`,
          text: "DHL, arriving Thursday",
          imageUrl: "https://img.example/parcel.png",
          buttonText: "Track",
          buttonUrl: "https://track.example/JD0146",
        }),
      );
      a.add(new Suggestion("Return it"));
      a.add(new Suggestion("Talk to support"));
      a.setContext({ name: "order", lifespan: 2, parameters: { order_id: id } });
    });
    agent.handleRequest(intents);
  });
});
after(async () => {
  await backend.close();
  await egress.close();
  client.shutdown();
});

const request = (contexts: { name: string; lifespanCount: number; parameters?: Record<string, unknown> }[] = []) =>
  buildWebhookRequest({
    responseId: "r-1",
    projectId: "tenant-1",
    sessionId: "conversation-1",
    queryText: "where is order 12345",
    languageCode: "en",
    intent: { id: "intent-1", displayName: "order.status" },
    confidence: 0.93,
    parameters: { order_id: "12345" },
    allRequiredParamsPresent: true,
    contexts,
    channel: "telegram",
    payload: { data: { update_id: 1 } },
  });

test("a WebhookRequest has Dialogflow ES's shape", () => {
  const r = request([{ name: "order", lifespanCount: 1, parameters: { order_id: "12345" } }]);
  assert.equal(r.session, "projects/tenant-1/agent/sessions/conversation-1");
  assert.equal(r.queryResult.intent.name, "projects/tenant-1/agent/intents/intent-1");
  assert.deepEqual(r.queryResult.outputContexts, [
    {
      name: "projects/tenant-1/agent/sessions/conversation-1/contexts/order",
      lifespanCount: 1,
      parameters: { order_id: "12345" },
    },
  ]);
  assert.deepEqual(r.originalDetectIntentRequest, {
    source: "telegram",
    version: "2",
    payload: { data: { update_id: 1 } },
  });
});

test("the dialogflow-fulfillment library answers text, a card and quick replies, and sets a context", async () => {
  const result = await client.call({ id: "e1", url: `${backend.url}/`, timeoutMs: 5000 }, request());
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(toReplies(result.response, "telegram"), [
    { type: "text", text: "Order 12345 has shipped." },
    {
      type: "cards",
      cards: [
        {
          title: "Order 12345",
          subtitle: "DHL, arriving Thursday",
          imageUrl: "https://img.example/parcel.png",
          buttons: [{ type: "url", title: "Track", url: "https://track.example/JD0146" }],
        },
      ],
    },
    {
      type: "text",
      text: "Choose one:",
      quickReplies: [
        { title: "Return it", payload: "Return it" },
        { title: "Talk to support", payload: "Talk to support" },
      ],
    },
  ]);
  const context = result.response.outputContexts?.[0];
  assert.equal(context?.name, "projects/tenant-1/agent/sessions/conversation-1/contexts/order");
  assert.equal(context?.lifespanCount, 2);

  // The next turn sends the context back, and the library sees it.
  const next = await client.call(
    { id: "e1", url: `${backend.url}/`, timeoutMs: 5000 },
    request([{ name: "order", lifespanCount: 2, parameters: { order_id: "12345" } }]),
  );
  assert.ok(next.ok);
  assert.deepEqual(toReplies(next.response, "telegram")[0], { type: "text", text: "Still order 12345: shipped." });
});
