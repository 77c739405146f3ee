import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createEgress, parsePolicy } from "@cb/egress";
import { Webhook } from "standardwebhooks";
import {
  buildWebhookRequest,
  createFulfillmentClient,
  generateSigningSecret,
  signatureHeaders,
  toReplies,
} from "../src/index.ts";
import { startReceiver } from "./helpers.ts";

let backend: Awaited<ReturnType<typeof startReceiver>>;
let mode = "ok";
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));

before(async () => {
  backend = await startReceiver((_req, res) => {
    if (mode === "slow") return void setTimeout(() => res.end("{}"), 1500);
    if (mode === "error") return void res.writeHead(500).end("boom");
    if (mode === "html") return void res.end("<html>oops</html>");
    if (mode === "huge") return void res.end(JSON.stringify({ fulfillmentText: "x".repeat(70 * 1024) }));
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ fulfillmentText: "done" }));
  });
});
after(async () => {
  await backend.close();
  await egress.close();
});

const request = buildWebhookRequest({
  responseId: "resp-42",
  projectId: "t",
  sessionId: "s",
  queryText: "hi",
  languageCode: "en",
  intent: { id: "i", displayName: "greeting" },
  confidence: 1,
  parameters: {},
  allRequiredParamsPresent: true,
  contexts: [],
  channel: "whatsapp",
  payload: {},
});

test("Standard Webhooks signatures verify with the standardwebhooks package, old and new secret during a rotation", async () => {
  const vector = signatureHeaders(
    ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    "msg_p5jXN8AQM9LWM0D4loKWxJek",
    '{"test": 2432232314}',
    new Date(1614265330 * 1000),
  );
  assert.equal(
    vector["webhook-signature"],
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    "the specification's published vector",
  );

  mode = "ok";
  const [newer, older] = [generateSigningSecret(), generateSigningSecret()];
  const client = createFulfillmentClient(egress);
  const result = await client.call(
    {
      id: "signed",
      url: backend.url,
      timeoutMs: 2000,
      auth: {
        signingSecrets: [newer, older],
        basic: { username: "shop", password: "pa55" },
        headers: { "x-api-key": "k-1" },
      },
    },
    request,
  );
  assert.ok(result.ok);
  const got = backend.received.at(-1)!;
  const headers = got.headers as Record<string, string>;
  assert.equal(headers["webhook-id"], "msg_resp-42");
  for (const secret of [newer, older])
    assert.deepEqual(new Webhook(secret).verify(got.body, headers), JSON.parse(got.body));
  assert.throws(() => new Webhook(generateSigningSecret()).verify(got.body, headers));
  assert.throws(() => new Webhook(newer).verify(got.body.replace("hi", "ho"), headers), "a tampered body fails");
  assert.equal(headers.authorization, `Basic ${Buffer.from("shop:pa55").toString("base64")}`);
  assert.equal(headers["x-api-key"], "k-1");
  assert.equal(JSON.parse(got.body).originalDetectIntentRequest.source, undefined, "Dialogflow has no WhatsApp source");
  assert.deepEqual(toReplies(result.response, "whatsapp"), [{ type: "text", text: "done" }]);
  client.shutdown();
});

test("timeouts, errors, non-JSON and oversized answers fail fast and say why", async () => {
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 100 } });
  const endpoint = { id: "flaky", url: backend.url, timeoutMs: 300 };
  const expectations: [string, RegExp][] = [
    ["slow", /within 300 ms/],
    ["error", /HTTP 500/],
    ["html", /not JSON/],
    ["huge", /larger than 65536 bytes/],
  ];
  for (const [m, pattern] of expectations) {
    mode = m;
    const result = await client.call(endpoint, request);
    assert.ok(!result.ok);
    assert.match(result.error, pattern, m);
    assert.ok(result.latencyMs < 1000, `${m} took ${result.latencyMs} ms`);
  }
  client.shutdown();
});

test("a dead endpoint trips its circuit breaker: later calls fail at once without calling it", async () => {
  mode = "error";
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 3, resetTimeoutMs: 60_000 } });
  const endpoint = { id: "dead", url: backend.url, timeoutMs: 1000 };
  for (let i = 0; i < 3; i++) assert.ok(!(await client.call(endpoint, request)).ok);
  const before = backend.received.length;
  const result = await client.call(endpoint, request);
  assert.ok(!result.ok && result.circuitOpen);
  assert.equal(backend.received.length, before, "not called while open");
  mode = "ok";
  assert.ok((await client.call({ ...endpoint, id: "other" }, request)).ok, "other endpoints are unaffected");
  client.shutdown();
});

test("an unreachable endpoint is retried once, quickly, within the budget", async () => {
  const client = createFulfillmentClient(egress);
  const result = await client.call({ id: "gone", url: "http://127.0.0.1:1/", timeoutMs: 2000 }, request);
  assert.ok(!result.ok);
  assert.match(result.error, /connection failed/);
  client.shutdown();
});
