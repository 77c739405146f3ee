import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PlatformError, type ChannelAccount } from "@cb/core";
import { recordingLimits } from "@cb/core/conformance";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { hubSignature } from "@cb/meta-graph";
import Fastify from "fastify";
import { createSender, driver } from "../src/index.ts";

let graph: FakeGraph;
const TOKEN = "IGAA-sender-test-token";
const account: ChannelAccount = {
  id: "5d1f3e2a-8b7c-4d6e-9f0a-1b2c3d4e5f60",
  tenantId: "00000000-0000-4000-8000-000000000001",
  channel: "instagram",
  config: { instagramAccountId: "17841400000000001" },
  secrets: { pageAccessToken: TOKEN, appSecret: "s3cret", verifyToken: "v" },
};

before(async () => {
  graph = await startFakeGraph();
  graph.addInstagramToken(TOKEN);
});
after(() => graph.close());

test("replies go to /me/messages with the Page token, as RESPONSE, within the account's own budget", async () => {
  const limits = recordingLimits();
  const sender = createSender(account, { GRAPH_API_BASE_URL: graph.url }, limits);
  const [sent] = await sender.send({ externalId: "IGSID-1", type: "private" }, { type: "text", text: "Hello" });
  const call = graph.calls.at(-1)!;
  assert.equal(call.platform, "instagram");
  assert.equal(call.path, "/v21.0/me/messages");
  assert.deepEqual(call.body, { recipient: { id: "IGSID-1" }, messaging_type: "RESPONSE", message: { text: "Hello" } });
  assert.equal(sent!.platformMessageId, call.id);
  assert.deepEqual(limits.reserved, [[{ key: "instagram:17841400000000001", cap: 100, intervalMs: 1000 }]]);
});

test("a human agent's reply after the window goes tagged HUMAN_AGENT; Instagram refuses any other tag", async () => {
  const sender = createSender(account, { GRAPH_API_BASE_URL: graph.url }, recordingLimits());
  const to = { externalId: "IGSID-2", type: "private" as const };
  await sender.send(to, { type: "text", text: "An agent here" }, { messageTag: "HUMAN_AGENT" });
  assert.deepEqual(
    { type: graph.calls.at(-1)!.body.messaging_type, tag: graph.calls.at(-1)!.body.tag },
    { type: "MESSAGE_TAG", tag: "HUMAN_AGENT" },
  );
  const refused = await sender
    .send(to, { type: "text", text: "Your order shipped" }, { messageTag: "POST_PURCHASE_UPDATE" })
    .catch((err: unknown) => err);
  assert.ok(refused instanceof PlatformError && !refused.retryable, String(refused));
});

test("the driver's webhook takes only Instagram's object, signed with the account's app secret", async () => {
  const app = Fastify({ logger: false });
  const ingested: unknown[] = [];
  await app.register(driver.webhook, {
    prefix: "/webhooks/instagram",
    loadAccount: async (id) => (id === account.id ? account : null),
    ingest: async (_account, events) => void ingested.push(...events),
  });
  const post = (body: string) =>
    app.inject({
      method: "POST",
      url: `/webhooks/instagram/${account.id}`,
      headers: { "content-type": "application/json", "x-hub-signature-256": hubSignature(body, "s3cret") },
      payload: body,
    });
  const page = await post(JSON.stringify({ object: "page", entry: [] }));
  assert.equal(page.statusCode, 400);
  assert.match(page.body, /expected object \\"instagram\\"/);
  const ok = await post(
    JSON.stringify({
      object: "instagram",
      entry: [
        {
          id: "1",
          time: 1,
          messaging: [{ sender: { id: "u" }, recipient: { id: "1" }, timestamp: 1, message: { mid: "m", text: "hi" } }],
        },
      ],
    }),
  );
  assert.equal(ok.statusCode, 200);
  assert.equal(ingested.length, 1);
  await app.close();
});
