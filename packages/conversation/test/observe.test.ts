import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChannelSender, PlatformError, type Reply } from "@cb/core";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { currentTraceparent, inSpan, registry, startTracing } from "@cb/observability";
import { InMemorySpanExporter, parsePrometheus, sampleValue } from "@cb/observability/testing";
import {
  createIngestor,
  createUnderstand,
  expandInbound,
  nluOutcome,
  observeSender,
  sendOutcome,
  type TenantInfo,
} from "../src/index.ts";
import { sendWithRetry } from "../src/send-retry.ts";

let t: TestDatabase;
let tenant: TenantInfo;

before(async () => {
  t = await createTestDatabase();
  const row = await t.db.tenant.create({ data: { name: "Acme", timezone: "Europe/Berlin" } });
  tenant = { id: row.id, language: "en", timezone: "Europe/Berlin" };
  await t.db.entityType.create({
    data: { tenantId: row.id, name: "order_id", kind: "pattern", pattern: "\\b\\d{5}\\b" },
  });
  await t.db.intent.createMany({
    data: [
      { tenantId: row.id, name: "greeting", examples: ["hi", "hello", "good morning", "hey there"] },
      {
        tenantId: row.id,
        name: "order.status",
        examples: ["where is my order", "track my package", "has my order shipped", "status of order 12345"],
        parameters: [{ name: "order_id", entity: "@order_id", required: true, prompts: ["Your order number?"] }],
      },
      { tenantId: row.id, name: "fallback", examples: [], isFallback: true },
    ],
  });
});
after(() => t.drop());

async function counted(work: () => Promise<unknown>) {
  const before = parsePrometheus(await registry.metrics());
  await work();
  const after = parsePrometheus(await registry.metrics());
  return (name: string, labels: Record<string, string> = {}) =>
    sampleValue(after, name, labels) - sampleValue(before, name, labels);
}

const message = (text: string) => ({
  channel: "telegram" as const,
  platformEventId: "1",
  conversation: { externalId: "7", type: "private" as const },
  sender: { externalId: "7" },
  sentAt: "2026-11-30T12:00:00.000Z",
  text,
});

test("every understanding is counted by outcome: matched, prompt, low confidence; the LLM not asked offline", async () => {
  const understand = createUnderstand(t.db, { pool: t.pool });
  for (const [text, outcome] of [
    ["hello there", "matched"],
    ["where is my order", "prompt"],
    ["yo the thingy from last week never showed up", "low_confidence"],
  ] as const) {
    const moved = await counted(() => understand({ tenant, message: message(text), state: {} }));
    assert.equal(moved("cb_nlu_outcomes_total", { outcome, llm: "not_used" }), 1, text);
    assert.equal(moved("cb_nlu_outcomes_total"), 1, `${text}: once`);
    assert.equal(moved("cb_turn_duration_seconds_count", { stage: "understand" }), 1);
  }
});

test("nluOutcome: a prompt, a match, the fallback below the threshold, and the fallback with nothing to go on", () => {
  const base = { parameters: {}, allRequiredParamsPresent: true, contexts: [], state: {} };
  assert.equal(nluOutcome({ ...base, intent: "order", confidence: 1, prompt: "Which order?" }, "fallback"), "prompt");
  assert.equal(nluOutcome({ ...base, intent: "order", confidence: 0.9 }, "fallback"), "matched");
  assert.equal(nluOutcome({ ...base, intent: "fallback", confidence: 0.4 }, "fallback"), "low_confidence");
  assert.equal(nluOutcome({ ...base, intent: "fallback", confidence: 0 }, "fallback"), "fallback");
});

test("sends are counted by channel and outcome: sent, rate limited (429 or a wait), retryable, failed", async () => {
  const failures: (Error | undefined)[] = [];
  const strict: ChannelSender = {
    async send() {
      const failure = failures.shift();
      if (failure) throw failure;
      return [{ platformMessageId: "1", raw: {} }];
    },
  };
  const sender = observeSender("whatsapp", strict);
  assert.equal(sender.channel, "whatsapp");
  const reply: Reply = { type: "text", text: "hi" };
  const to = { externalId: "7", type: "private" as const };
  const cases: [Error | undefined, string][] = [
    [undefined, "sent"],
    [new PlatformError("whatsapp", "130429", "throttled", true, 1000), "rate_limited"],
    [new PlatformError("telegram", "429", "Too Many Requests", true), "rate_limited"],
    [new PlatformError("whatsapp", "500", "server error", true), "retryable"],
    [new PlatformError("whatsapp", "131047", "outside the window", false), "failed"],
    [new Error("bug"), "failed"],
  ];
  for (const [failure, outcome] of cases) {
    failures.push(failure);
    const moved = await counted(() => sender.send(to, reply).catch(() => {}));
    assert.equal(moved("cb_platform_sends_total", { channel: "whatsapp", outcome }), 1, outcome);
    assert.equal(moved("cb_platform_sends_total"), 1);
    assert.equal(sendOutcome(failure), failure ? outcome : "failed");
  }

  // Tried again in place after a 429: two attempts counted, and one retry.
  failures.push(new PlatformError("whatsapp", "429", "slow down", true, 10));
  const moved = await counted(() => sendWithRetry(sender, to, reply, {}));
  assert.equal(moved("cb_platform_send_retries_total", { channel: "whatsapp" }), 1);
  assert.equal(moved("cb_platform_sends_total", { channel: "whatsapp", outcome: "rate_limited" }), 1);
  assert.equal(moved("cb_platform_sends_total", { channel: "whatsapp", outcome: "sent" }), 1);
});

test("ingest latency is counted by where the events went; the webhook's traceparent is stored with its message either way", async () => {
  const tracing = startTracing({ serviceName: "ingest", env: {}, exporter: new InMemorySpanExporter() });
  const row = await t.db.channelAccount.create({
    data: { tenantId: tenant.id, channel: "telegram", name: "bot", secrets: "sealed" },
  });
  const account = { id: row.id, tenantId: tenant.id, channel: "telegram" as const, config: {}, secrets: {} };
  const event = (id: string) => ({
    type: "message" as const,
    raw: {},
    message: { ...message(id), platformEventId: id },
  });
  try {
    for (const [store, inboxAbove] of [
      ["direct", Infinity],
      ["inbox", 0],
    ] as const) {
      const ingestor = createIngestor({ connectionString: t.url, inboxAbove });
      let traceparent = "";
      const moved = await counted(() =>
        inSpan("webhook", {}, async () => {
          traceparent = currentTraceparent()!;
          await ingestor.ingest(account, [event(store)]);
        }),
      );
      await ingestor.close();
      assert.equal(moved("cb_ingest_duration_seconds_count", { store }), 1, store);
      assert.equal(moved("cb_ingest_duration_seconds_count"), 1);
      await expandInbound(t.pool);
      const stored = await t.db.message.findFirstOrThrow({ where: { channelAccountId: row.id, dedupeKey: store } });
      assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.equal(stored.traceparent, traceparent, store);
    }
  } finally {
    await tracing.shutdown();
  }
});
