import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PlatformError, type ChannelAccount, type Reply } from "@cb/core";
import { recordingLimits } from "@cb/core/conformance";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { sendApiSender } from "../src/index.ts";

// A Send API channel as Messenger is, its render cut down to one message a line of text.
const BUDGET = { key: "page:1895382890692545", cap: 40, intervalMs: 1000 };
const createSender = sendApiSender({
  platform: "messenger",
  render: (reply: Reply) => (reply.type === "text" ? reply.text.split("\n").map((text) => ({ text })) : []),
  budget: (config: { pageId: string }) => ({ ...BUDGET, key: `page:${config.pageId}` }),
});
const account: ChannelAccount = {
  id: "6c2d9a4e-1f3b-4a5c-8d7e-0f1a2b3c4d5e",
  tenantId: "00000000-0000-4000-8000-000000000001",
  channel: "messenger",
  config: { pageId: "1895382890692545" },
  secrets: { pageAccessToken: "EAA-send-api-token", appSecret: "s", verifyToken: "v" },
};
const to = { externalId: "PSID-1", type: "private" as const };

let graph: FakeGraph;
before(async () => {
  graph = await startFakeGraph();
  graph.addPageToken("EAA-send-api-token");
});
after(() => graph.close());

test("each rendered message is one POST /me/messages, the Page token in the query, within the account's budget", async () => {
  const limits = recordingLimits();
  const sender = createSender(account, { GRAPH_API_BASE_URL: graph.url, GRAPH_API_VERSION: "v23.0" }, limits);
  const from = graph.calls.length;
  const sent = await sender.send(to, { type: "text", text: "one\ntwo" });
  const calls = graph.calls.slice(from);
  assert.deepEqual(
    calls.map((c) => [c.path, c.body]),
    ["one", "two"].map((text) => [
      "/v23.0/me/messages",
      { recipient: { id: "PSID-1" }, messaging_type: "RESPONSE", message: { text } },
    ]),
  );
  assert.deepEqual(
    sent,
    calls.map((c) => ({ platformMessageId: c.id, raw: { recipient_id: "PSID-1", message_id: c.id } })),
  );
  assert.deepEqual(limits.reserved, [[BUDGET], [BUDGET]]);
  assert.deepEqual(await sender.send(to, { type: "image", url: "https://img.example/a.jpg" }), []);
  assert.equal(graph.calls.length, from + 2, "a reply that renders to nothing sends nothing");
});

test("with a message tag (SendContext.messageTag) a message goes as MESSAGE_TAG with that tag", async () => {
  const sender = createSender(account, { GRAPH_API_BASE_URL: graph.url }, recordingLimits());
  await sender.send(to, { type: "text", text: "Your order shipped" }, { messageTag: "POST_PURCHASE_UPDATE" });
  const { messaging_type, tag } = graph.calls.at(-1)!.body;
  assert.deepEqual({ messaging_type, tag }, { messaging_type: "MESSAGE_TAG", tag: "POST_PURCHASE_UPDATE" });
});

test("a refusal fails the send under the channel's name and stops it; a throttling answer holds the budget's key", async () => {
  const limits = recordingLimits();
  const sender = createSender(account, { GRAPH_API_BASE_URL: graph.url }, limits);
  const from = graph.calls.length;
  graph.failNext({ status: 400, code: 10, message: "(#10) This message is sent outside of allowed window." });
  const outside = await sender.send(to, { type: "text", text: "late\nlater" }).catch((e: unknown) => e);
  assert.ok(outside instanceof PlatformError && !outside.retryable, String(outside));
  assert.deepEqual([outside.platform, outside.code], ["messenger", "10"]);
  assert.equal(graph.calls.length, from, "the rest of the reply is not sent");
  assert.deepEqual(limits.blocked, []);
  graph.failNext({ status: 400, code: 613, message: "Calls to this api have exceeded the rate limit.", retryAfter: 3 });
  await assert.rejects(
    sender.send(to, { type: "text", text: "throttled" }),
    (err) => err instanceof PlatformError && err.retryable && err.retryAfterMs === 3000,
  );
  assert.deepEqual(limits.blocked, [{ key: BUDGET.key, ms: 3000 }]);
});
