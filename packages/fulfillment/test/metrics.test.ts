import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createEgress, parsePolicy } from "@cb/egress";
import { registry } from "@cb/observability";
import { parsePrometheus, sampleValue } from "@cb/observability/testing";
import { buildWebhookRequest, createFulfillmentClient } from "../src/index.ts";
import { startReceiver } from "./helpers.ts";

// Each call is counted once, by what became of it; the status class says what the backend answered.
let backend: Awaited<ReturnType<typeof startReceiver>>;
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));

before(async () => {
  backend = await startReceiver((req, res) => {
    const mode = req.url!.slice(1);
    if (mode === "slow") return void setTimeout(() => res.end("{}"), 1000);
    if (mode === "teapot") return void res.writeHead(418).end("{}");
    if (mode === "html") return void res.end("<html>oops</html>");
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ fulfillmentText: "done" }));
  });
});
after(async () => {
  await backend.close();
  await egress.close();
});

const request = buildWebhookRequest({
  responseId: "resp-1",
  projectId: "t",
  sessionId: "s",
  queryText: "hi",
  languageCode: "en",
  intent: { id: "i", displayName: "greeting" },
  confidence: 1,
  parameters: {},
  allRequiredParamsPresent: true,
  contexts: [],
  channel: "telegram",
  payload: {},
});

async function counted(call: () => Promise<unknown>) {
  const before = parsePrometheus(await registry.metrics());
  await call();
  const after = parsePrometheus(await registry.metrics());
  return (name: string, labels: Record<string, string> = {}) =>
    sampleValue(after, name, labels) - sampleValue(before, name, labels);
}

test("each outcome is counted with its status class and latency: ok, http_4xx, invalid_response, timeout, circuit_open", async () => {
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 100 } });
  const endpoint = (mode: string, timeoutMs = 2000) => ({ id: mode, url: `${backend.url}/${mode}`, timeoutMs });
  const cases: [string, number | undefined, string, string][] = [
    ["ok", undefined, "ok", "2xx"],
    ["teapot", undefined, "http_4xx", "4xx"],
    ["html", undefined, "invalid_response", "none"],
    ["slow", 200, "timeout", "none"],
  ];
  for (const [mode, timeoutMs, outcome, statusClass] of cases) {
    const moved = await counted(() => client.call(endpoint(mode, timeoutMs), request));
    assert.equal(moved("cb_fulfillment_calls_total", { outcome, status_class: statusClass }), 1, mode);
    assert.equal(moved("cb_fulfillment_calls_total"), 1, `${mode}: one call counted`);
    assert.equal(moved("cb_fulfillment_duration_seconds_count", { outcome }), 1, mode);
  }
  client.shutdown();

  const tripping = createFulfillmentClient(egress, { breaker: { volumeThreshold: 1, resetTimeoutMs: 60_000 } });
  await tripping.call(endpoint("teapot"), request);
  const calls = backend.received.length;
  const moved = await counted(() => tripping.call(endpoint("teapot"), request));
  assert.equal(backend.received.length, calls, "the open circuit did not call");
  assert.equal(moved("cb_fulfillment_calls_total", { outcome: "circuit_open", status_class: "none" }), 1);
  tripping.shutdown();
});

test("without tracing the backend gets no traceparent", async () => {
  const client = createFulfillmentClient(egress);
  await client.call({ id: "plain", url: `${backend.url}/ok`, timeoutMs: 2000 }, request);
  assert.equal(backend.received.at(-1)!.headers.traceparent, undefined);
  client.shutdown();
});
