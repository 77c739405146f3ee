import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { captureLogs } from "@cb/logging/testing";
import { observeBacklog, startTracing, type Tracing } from "@cb/observability";
import { parsePrometheus, startOtlpSink, sampleValue, type Sample } from "@cb/observability/testing";
import { startWorkerHealth } from "../src/index.ts";
import { addTicketIntent, SECRET_TOKEN, sleep, startStack, textUpdate, type Stack } from "./support.ts";

// One process: the web role, the worker role and the tracing SDK exporting to a local OTLP sink.
let stack: Stack;
let sink: Awaited<ReturnType<typeof startOtlpSink>>;
let tracing: Tracing;
let backend: Awaited<ReturnType<typeof startBackend>>;
const logs = captureLogs("debug");

/** A strict fulfillment backend: POST /fulfillment with JSON only; answers `status` (200: a ticket). */
async function startBackend() {
  const calls: { headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];
  const unexpected: string[] = [];
  const state = { status: 200 };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/fulfillment" || req.headers["content-type"] !== "application/json") {
        unexpected.push(`${req.method} ${req.url}`);
        res.writeHead(404).end();
        return;
      }
      calls.push({ headers: req.headers, body: JSON.parse(body) });
      res
        .writeHead(state.status, { "content-type": "application/json" })
        .end(state.status === 200 ? JSON.stringify({ fulfillmentText: "Ticket opened." }) : "{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fulfillment`,
    calls,
    unexpected,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

before(async () => {
  sink = await startOtlpSink();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
  tracing = startTracing({ serviceName: "chatbot-test" });
  backend = await startBackend();
  stack = await startStack({ logger: logs.logger, metrics: true });
  await addTicketIntent(stack, backend.url);
});

after(async () => {
  await stack.close();
  await tracing.shutdown();
  await sink.close();
  await backend.close();
  assert.deepEqual(backend.unexpected, [], "the backend got only fulfillment POSTs");
});

async function scrape(): Promise<Sample[]> {
  const response = await stack.app.inject({ method: "GET", url: "/metrics" });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(response.body);
}

/** How much each metric moved between two scrapes. */
const delta =
  (before: Sample[], after: Sample[]) =>
  (name: string, labels: Record<string, string> = {}) =>
    sampleValue(after, name, labels) - sampleValue(before, name, labels);

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Posts a text from `chat` and waits until its turn is counted; the scrapes before and after. */
async function turn(text: string, chat: number) {
  const first = await scrape();
  assert.equal(await stack.post(textUpdate(text, chat)), 200);
  const last = await until("the turn to be counted", async () => {
    const now = await scrape();
    return sampleValue(now, "cb_turns_total") > sampleValue(first, "cb_turns_total") ? now : undefined;
  });
  return delta(first, last);
}

test("a turn moves the webhook, ingest, turn-stage, NLU, fulfillment and send metrics, each by one", async () => {
  const moved = await turn("open a support ticket", 701);
  assert.equal(moved("cb_webhooks_received_total", { channel: "telegram" }), 1);
  assert.equal(moved("cb_webhooks_acknowledged_total", { channel: "telegram" }), 1);
  assert.equal(moved("cb_webhooks_rejected_total"), 0);
  assert.equal(moved("cb_ingest_duration_seconds_count", { store: "direct" }), 1);
  for (const stage of ["understand", "fulfill", "send", "total"])
    assert.equal(moved("cb_turn_duration_seconds_count", { stage }), 1, stage);
  assert.ok(moved("cb_turn_duration_seconds_sum", { stage: "total" }) > 0);
  assert.equal(moved("cb_turns_total", { outcome: "ok" }), 1);
  assert.equal(moved("cb_nlu_outcomes_total", { outcome: "matched", llm: "not_used" }), 1);
  assert.equal(moved("cb_nlu_outcomes_total"), 1);
  assert.equal(moved("cb_fulfillment_calls_total", { outcome: "ok", status_class: "2xx" }), 1);
  assert.equal(moved("cb_fulfillment_calls_total"), 1);
  assert.equal(moved("cb_fulfillment_duration_seconds_count", { outcome: "ok" }), 1);
  assert.equal(moved("cb_platform_sends_total", { channel: "telegram", outcome: "sent" }), 1);
  assert.equal(moved("cb_platform_sends_total"), 1);
});

test("the fulfillment backend gets a W3C traceparent in the inbound message's trace; the turn's logs carry its ids", async () => {
  const calls = backend.calls.length;
  await turn("I need help from a human", 702);
  const call = backend.calls[calls]!;
  const header = String(call.headers.traceparent);
  const [version, traceId, parentId, flags] = header.split("-");
  assert.match(header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.notEqual(traceId, "0".repeat(32));
  assert.equal(version, "00");
  assert.equal(flags, "01");

  // The trace the webhook started, stored with the message.
  const conversation = await stack.t.db.conversation.findFirstOrThrow({ where: { externalId: "702" } });
  const message = await stack.t.db.message.findFirstOrThrow({
    where: { conversationId: conversation.id, direction: "in" },
  });
  assert.equal(message.traceparent?.split("-")[1], traceId);

  await tracing.flush();
  const spans = sink.spans.filter((s) => s.traceId === traceId);
  const named = (name: string) => spans.find((s) => s.name === name);
  const webhook = named("POST /webhooks/telegram");
  assert.ok(webhook, "the webhook's span is in the trace");
  assert.equal(webhook.parentSpanId ?? "", "", "the webhook's span is the trace's root");
  const turnSpan = named("turn")!;
  assert.equal(turnSpan.attributes["cb.conversation_id"], conversation.id);
  const client = named("POST fulfillment")!;
  assert.equal(client.spanId, parentId, "the backend's parent is the call's span");
  for (const name of ["nlu.understand", "platform.send"]) assert.ok(named(name), name);

  const line = logs.lines.find((l) => l.msg === "turn" && l.messageId === message.id);
  assert.ok(line, "the turn's record was logged");
  assert.equal(line.traceId, traceId);
  assert.equal(line.tenantId, stack.tenantId);
  assert.equal(line.conversationId, conversation.id);
});

test("a rejected webhook is counted by channel and reason, and not acknowledged", async () => {
  const first = await scrape();
  const forged = await stack.app.inject({
    method: "POST",
    url: `/webhooks/telegram/${stack.accountId}`,
    headers: { "x-telegram-bot-api-secret-token": `${SECRET_TOKEN}-wrong` },
    payload: textUpdate("hello", 703),
  });
  assert.equal(forged.statusCode, 401);
  const unknown = await stack.app.inject({
    method: "POST",
    url: "/webhooks/telegram/00000000-0000-4000-8000-000000000000",
    headers: { "x-telegram-bot-api-secret-token": SECRET_TOKEN },
    payload: textUpdate("hello", 703),
  });
  assert.equal(unknown.statusCode, 404);
  const moved = delta(first, await scrape());
  assert.equal(moved("cb_webhooks_received_total", { channel: "telegram" }), 2);
  assert.equal(moved("cb_webhooks_rejected_total", { channel: "telegram", reason: "invalid_secret_token" }), 1);
  assert.equal(moved("cb_webhooks_rejected_total", { channel: "telegram", reason: "unknown_account" }), 1);
  assert.equal(moved("cb_webhooks_acknowledged_total"), 0);
});

test("a failed fulfillment call is counted by outcome and status class", async () => {
  backend.state.status = 500;
  try {
    const moved = await turn("talk to support", 704);
    assert.equal(moved("cb_fulfillment_calls_total", { outcome: "http_5xx", status_class: "5xx" }), 1);
    assert.equal(moved("cb_fulfillment_calls_total", { outcome: "ok" }), 0);
    assert.equal(moved("cb_fulfillment_duration_seconds_count", { outcome: "http_5xx" }), 1);
  } finally {
    backend.state.status = 200;
  }
});

test("the worker's health port serves /metrics, behind METRICS_TOKEN when set", async () => {
  const token = "metrics-token-for-tests";
  const health = await startWorkerHealth({
    runner: stack.worker!.runner,
    pool: stack.t.pool,
    host: "127.0.0.1",
    port: 0,
    metricsToken: token,
  });
  try {
    assert.equal((await fetch(`${health.url}/metrics`)).status, 401);
    const wrong = await fetch(`${health.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } });
    assert.equal(wrong.status, 401);
    const ok = await fetch(`${health.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    const samples = parsePrometheus(await ok.text());
    assert.equal(sampleValue(samples, "cb_backlog_read_failed"), 0);
    assert.ok(samples.some((s) => s.name === "cb_db_pool_connections" && s.labels.pool === "ingest"));
    assert.equal((await fetch(`${health.url}/readyz`)).status, 200, "health needs no token");
  } finally {
    await health.close();
  }
});

test("job queue depth, oldest job age and inbox backlog are read on scrape, within a time limit", async () => {
  await stack.worker!.stop();
  stack.worker = undefined;
  observeBacklog(stack.t.pool, { cacheMs: 0, timeoutMs: 300 });
  assert.equal(await stack.post(textUpdate("hello there", 705)), 200);
  await stack.t.pool.query(`INSERT INTO "InboundBatch" (events) VALUES ('[]'::json)`);
  await sleep(300);
  const samples = await scrape();
  assert.equal(sampleValue(samples, "cb_job_queue_depth", { task: "handle-message" }), 1);
  assert.ok(sampleValue(samples, "cb_job_queue_oldest_age_seconds", { task: "handle-message" }) >= 0.2);
  assert.equal(sampleValue(samples, "cb_inbox_backlog_batches"), 1);
  assert.equal(sampleValue(samples, "cb_backlog_read_failed"), 0);

  // A locked jobs table: the read gives up at its time limit and says so; the scrape still answers.
  const locker = await stack.t.pool.connect();
  try {
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE graphile_worker._private_jobs IN ACCESS EXCLUSIVE MODE");
    const started = performance.now();
    const blocked = await scrape();
    assert.ok(performance.now() - started < 5_000);
    assert.equal(sampleValue(blocked, "cb_backlog_read_failed"), 1);
  } finally {
    await locker.query("ROLLBACK");
    locker.release();
  }
});
