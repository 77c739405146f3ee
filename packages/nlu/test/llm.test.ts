import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@cb/logging";
import { captureLogs, LEVEL } from "@cb/logging/testing";
import { createLlmClassifier, trainModel, understandHybrid } from "../src/index.ts";
import { orderIdType, shopIntents } from "./fixtures.ts";

// A local OpenAI-compatible server; `answer` decides what the "model" says.
let answer: (body: any) => { status?: number; content?: string; delayMs?: number } = () => ({ content: "{}" });
const requests: any[] = [];
let server: Server;
let baseURL: string;

before(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw);
      requests.push({ path: req.url, auth: req.headers.authorization, body });
      const { status = 200, content = "", delayMs = 0 } = answer(body);
      const reply =
        status === 200
          ? {
              id: "chatcmpl-1",
              object: "chat.completion",
              created: 1,
              model: body.model,
              choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content } }],
            }
          : { error: { message: "overloaded", type: "server_error" } };
      setTimeout(
        () => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(reply)),
        delayMs,
      ).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
after(
  () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
);

const model = trainModel(shopIntents, { entityTypes: [orderIdType] });
const tenant = { timezone: "UTC" };
// What failures log is the last test's subject; here it would only be noise.
const llm = () =>
  createLlmClassifier({
    baseURL,
    apiKey: "sk-test",
    model: "small-model",
    timeoutMs: 300,
    logger: captureLogs("silent").logger,
  });

test("low offline confidence asks the model, with a JSON schema limited to the tenant's intents", async () => {
  answer = () => ({
    content: JSON.stringify({ intent: "order.status", confidence: 0.9, parameters: { order_id: "54321" } }),
  });
  const result = await understandHybrid(
    { text: "yo, my thingy from last week never showed up, it's 54321", state: undefined, model, tenant },
    llm(),
  );
  assert.equal(result.intent, "order.status");
  assert.deepEqual(result.parameters, { order_id: "54321" });
  const sent = requests.at(-1)!;
  assert.equal(sent.path, "/v1/chat/completions");
  assert.equal(sent.auth, "Bearer sk-test");
  assert.equal(sent.body.model, "small-model");
  assert.deepEqual(sent.body.response_format.json_schema.schema.properties.intent.enum, [
    ...shopIntents.map((i) => i.name),
    "none",
  ]);
});

test("confident offline answers never call the model; answers are cached per normalized text", async () => {
  const before = requests.length;
  await understandHybrid({ text: "where is my order", state: undefined, model, tenant }, llm());
  assert.equal(requests.length, before);
  const classifier = llm();
  answer = () => ({ content: JSON.stringify({ intent: "support.ticket", confidence: 0.8, parameters: {} }) });
  await understandHybrid({ text: "Ugh this is all wrong!!", state: undefined, model, tenant }, classifier);
  await understandHybrid({ text: "ugh THIS is all wrong!!", state: undefined, model, tenant }, classifier);
  assert.equal(requests.length, before + 1);
});

test("an intent the tenant doesn't have, malformed JSON, an error or a timeout leave the offline answer", async () => {
  const cases: [string, typeof answer][] = [
    [
      "unknown intent",
      () => ({ content: JSON.stringify({ intent: "transfer_money", confidence: 1, parameters: {} }) }),
    ],
    ["malformed", () => ({ content: "sure! the intent is order.status" })],
    ["server error", () => ({ status: 503 })],
    [
      "timeout",
      () => ({ content: JSON.stringify({ intent: "greeting", confidence: 1, parameters: {} }), delayMs: 2000 }),
    ],
  ];
  for (const [name, behaviour] of cases) {
    answer = behaviour;
    const started = Date.now();
    const result = await understandHybrid({ text: `zzkx qq ${name}`, state: undefined, model, tenant }, llm());
    assert.equal(result.intent, "fallback", name);
    assert.ok(Date.now() - started < 1500, `${name} took too long`);
  }
});

test("a failed call is logged as a warning with the model and the reason, never the customer's text", async () => {
  // Generous time limits but the timeout's own: a loaded machine must not turn every case into a timeout.
  const cases: [string, typeof answer, number, RegExp][] = [
    ["malformed", () => ({ content: "sure! the intent is order.status" }), 10_000, /JSON/],
    ["server error", () => ({ status: 503 }), 10_000, /503/],
    [
      "timeout",
      () => ({ content: JSON.stringify({ intent: "greeting", confidence: 1, parameters: {} }), delayMs: 5000 }),
      300,
      /timed out/i,
    ],
  ];
  const classifier = (timeoutMs: number, logger: Logger) =>
    createLlmClassifier({ baseURL, apiKey: "sk-test", model: "small-model", timeoutMs, logger });
  for (const [name, behaviour, timeoutMs, reason] of cases) {
    answer = behaviour;
    const { logger, lines, text } = captureLogs();
    assert.equal(await classifier(timeoutMs, logger).classify(`private words ${name}`, shopIntents), null, name);
    assert.equal(lines.length, 1, name);
    assert.equal(lines[0]!.level, LEVEL.warn, name);
    assert.equal(lines[0]!.msg, "LLM classification failed; the offline answer stands", name);
    assert.equal(lines[0]!.model, "small-model", name);
    assert.match((lines[0]!.err as { message: string }).message, reason, name);
    assert.ok(!text().includes("private words"), `${name}: the message text is not logged`);
    assert.ok(!text().includes("sk-test"), `${name}: the API key is not logged`);
  }
  // A definite answer, even one naming no intent of the tenant's, is no failure.
  answer = () => ({ content: JSON.stringify({ intent: "transfer_money", confidence: 1, parameters: {} }) });
  const { logger, lines } = captureLogs();
  assert.equal(await classifier(10_000, logger).classify("something else entirely", shopIntents), null);
  assert.equal(lines.length, 0);
});
