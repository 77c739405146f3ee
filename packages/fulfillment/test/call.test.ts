import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createEgress, parsePolicy } from "@cb/egress";
import { Webhook } from "standardwebhooks";
import {
  buildWebhookRequest,
  createFulfillmentClient,
  recordedBody,
  RECORDED_BODY_BYTES,
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
/** Backends a test started: closed at the end even when the test failed half way. */
const opened: { close(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(opened.map((b) => b.close()));
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
  const expectations: [string, RegExp, string, string | undefined][] = [
    ["slow", /within 300 ms/, "timeout", undefined],
    ["error", /HTTP 500/, "http_5xx", "boom"],
    ["html", /not JSON/, "invalid_response", "<html>oops</html>"],
    ["huge", /^the response is larger than 65536 bytes$/, "invalid_response", undefined],
  ];
  for (const [m, pattern, errorClass, responseBody] of expectations) {
    mode = m;
    const result = await client.call(endpoint, request);
    assert.ok(!result.ok);
    assert.match(result.error, pattern, m);
    // Webhook health: the class counted, and what came back (an answer never read whole: nothing).
    assert.equal(result.errorClass, errorClass, m);
    assert.equal(result.exchange.responseBody, responseBody, m);
    assert.equal(result.exchange.requestBody, JSON.stringify(request), m);
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
  assert.equal(result.errorClass, "circuit_open");
  assert.deepEqual(result.exchange.requestHeaders, {}, "nothing was sent");
  assert.equal(backend.received.length, before, "not called while open");
  mode = "ok";
  assert.ok((await client.call({ ...endpoint, id: "other" }, request)).ok, "other endpoints are unaffected");
  client.shutdown();
});

/**
 * A backend that counts TCP connections and requests; `onRequest` decides each request's fate,
 * `dropFirst` connections are closed as soon as they are accepted (the connection itself fails).
 */
async function countingBackend(onRequest: (n: number, res: import("node:http").ServerResponse) => void, dropFirst = 0) {
  let requests = 0;
  let connections = 0;
  const backend = await startReceiver((_req, res) => onRequest(++requests, res));
  opened.push(backend);
  backend.server.on("connection", (socket) => {
    if (++connections <= dropFirst) socket.destroy();
  });
  return {
    url: backend.url,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    close: backend.close,
  };
}

const answer = (
  res: import("node:http").ServerResponse,
  status = 200,
  body = JSON.stringify({ fulfillmentText: "done" }),
) => res.writeHead(status, { "content-type": "application/json" }).end(body);

test("a connection that failed is retried once, and the second attempt's answer is used", async () => {
  const backend = await countingBackend((_n, res) => answer(res), 1);
  const client = createFulfillmentClient(egress);
  const result = await client.call({ id: "flap", url: backend.url, timeoutMs: 2000 }, request);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.response.fulfillmentText, "done");
  assert.equal(backend.connections, 2, "two attempts");
  assert.equal(backend.requests, 1, "the first never got through");
  client.shutdown();
  await backend.close();
});

test("a connection that keeps failing is tried exactly twice, then fails saying so", async () => {
  const backend = await countingBackend((_n, res) => answer(res), Number.POSITIVE_INFINITY);
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 100 } });
  const result = await client.call({ id: "down", url: backend.url, timeoutMs: 2000 }, request);
  assert.ok(!result.ok);
  assert.match(result.error, /^connection failed: /);
  assert.equal(result.httpStatus, undefined);
  assert.equal(backend.connections, 2);
  assert.ok(result.latencyMs < 1000, `${result.latencyMs} ms: quick, not the whole budget`);
  const refused = await client.call({ id: "gone", url: "http://127.0.0.1:1/", timeoutMs: 2000 }, request);
  assert.ok(!refused.ok);
  assert.equal(refused.error, "connection failed: ECONNREFUSED");
  client.shutdown();
  await backend.close();
});

test("only connection failures are retried: an HTTP error, a timeout, an oversized or invalid answer, a refused address are not", async () => {
  const outcomes: Record<string, (res: import("node:http").ServerResponse) => void> = {
    "HTTP 503": (res) => answer(res, 503, "busy"),
    timeout: (res) => setTimeout(() => answer(res), 1000),
    oversized: (res) => answer(res, 200, JSON.stringify({ fulfillmentText: "x".repeat(70 * 1024) })),
    "not JSON": (res) => answer(res, 200, "<html>"),
  };
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 100 } });
  for (const [name, outcome] of Object.entries(outcomes)) {
    const backend = await countingBackend((_n, res) => outcome(res));
    const result = await client.call({ id: name, url: backend.url, timeoutMs: 300 }, request);
    assert.ok(!result.ok, name);
    assert.equal(backend.requests, 1, `${name}: one attempt`);
    await backend.close();
  }
  const strict = createFulfillmentClient(createEgress(parsePolicy({ EGRESS_ALLOW_HTTP: "true" })));
  const blocked = await strict.call({ id: "internal", url: "http://10.0.0.1/", timeoutMs: 300 }, request);
  assert.ok(!blocked.ok);
  assert.equal(blocked.error, "refused: not a public address", "tenants are not told what the address is");
  assert.equal(blocked.errorClass, "connection");
  client.shutdown();
  strict.shutdown();
});

test("the retry happens only in the first half of the budget, and gets what is left of it", async () => {
  // Every connection is accepted, holds the request 400 ms, then closes without an answer.
  const hangUp = () => countingBackend((_n, res) => setTimeout(() => res.socket?.destroy(), 400));
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 100 } });

  let backend = await hangUp();
  let result = await client.call({ id: "late", url: backend.url, timeoutMs: 700 }, request);
  assert.ok(!result.ok);
  assert.match(result.error, /^connection failed/);
  assert.equal(backend.requests, 1, "400 ms of a 700 ms budget is past half: no retry");
  await backend.close();

  backend = await hangUp();
  result = await client.call({ id: "early", url: backend.url, timeoutMs: 3000 }, request);
  assert.ok(!result.ok);
  assert.equal(backend.requests, 2, "400 ms of 3 s: retried");
  await backend.close();

  // The first attempt fails after 400 ms; the second hangs, and gives up when the budget is spent.
  backend = await countingBackend((n, res) => (n === 1 ? setTimeout(() => res.socket?.destroy(), 400) : undefined));
  result = await client.call({ id: "budget", url: backend.url, timeoutMs: 1500 }, request);
  assert.ok(!result.ok);
  const [, given] = /within (\d+) ms/.exec(result.error) ?? [];
  assert.ok(Number(given) <= 1150 && Number(given) >= 900, `the retry got ${given} ms of the 1500 left after ~400`);
  assert.ok(result.latencyMs < 1900, `the call took ${result.latencyMs} ms`);
  assert.equal(backend.requests, 2);
  client.shutdown();
  await backend.close();
});

test("any 2xx is an answer (an empty body is an empty response); other statuses are failures that name the status", async () => {
  const bodies: Record<number, string> = { 200: "", 201: '{"fulfillmentText":"b"}', 299: '{"fulfillmentText":"c"}' };
  let status = 200;
  let delayMs = 0;
  const backend = await countingBackend((_n, res) =>
    setTimeout(() => answer(res, status, bodies[status] ?? "{}"), delayMs),
  );
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 100 } });
  const endpoint = { id: "statuses", url: backend.url, timeoutMs: 1000 };
  for (const [code, text] of [
    [200, undefined],
    [201, "b"],
    [299, "c"],
  ] as const) {
    status = code;
    const result = await client.call(endpoint, request);
    assert.ok(result.ok, `${code}: ${JSON.stringify(result)}`);
    assert.equal(result.httpStatus, code);
    assert.deepEqual(result.response, text ? { fulfillmentText: text } : {});
    assert.ok(result.latencyMs > 0 && result.latencyMs < 1000, `latency ${result.latencyMs}`);
  }
  for (const code of [300, 404, 500]) {
    status = code;
    const result = await client.call(endpoint, request);
    assert.ok(!result.ok);
    assert.equal(result.error, `the endpoint answered HTTP ${code}`);
    assert.equal(result.httpStatus, code);
  }
  delayMs = 500;
  const timeout = await client.call(endpoint, request, 100);
  assert.ok(!timeout.ok);
  assert.equal(timeout.error, "no complete answer within 100 ms", "the budget given wins over the endpoint's timeout");
  assert.ok(!("httpStatus" in timeout), "no status without an answer");
  client.shutdown();
  await backend.close();
});

test("an answer that is not a WebhookResponse object is a failure that says what is wrong", async () => {
  let body = "";
  const backend = await countingBackend((_n, res) => answer(res, 200, body));
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 100 } });
  const endpoint = { id: "shapes", url: backend.url, timeoutMs: 1000 };
  const cases: [string, string][] = [
    ["[1]", "the response is not a JSON object"],
    ["null", "the response is not a JSON object"],
    ["42", "the response is not a JSON object"],
    ['"text"', "the response is not a JSON object"],
    ["{oops", "the response is not JSON"],
    ['{"fulfillmentMessages":{}}', "invalid answer: /fulfillmentMessages must be array"],
    ['{"outputContexts":"order"}', "invalid answer: /outputContexts must be array"],
    ['{"fulfillmentText":5}', "invalid answer: /fulfillmentText must be string"],
    // At any depth: what would otherwise have been read (and thrown on) while making replies.
    [
      '{"fulfillmentMessages":[{"text":{"text":"hello"}}]}',
      "invalid answer: /fulfillmentMessages/0/text/text must be array",
    ],
    [
      '{"fulfillmentMessages":[{"text":{"text":["a",2]}}]}',
      "invalid answer: /fulfillmentMessages/0/text/text/1 must be string",
    ],
    ['{"fulfillmentMessages":[{"text":{"text":["a"]}},null]}', "invalid answer: /fulfillmentMessages/1 must be object"],
    ['{"fulfillmentMessages":["hello"]}', "invalid answer: /fulfillmentMessages/0 must be object"],
    [
      '{"fulfillmentMessages":[{"platform":7,"text":{}}]}',
      "invalid answer: /fulfillmentMessages/0/platform must be string",
    ],
    [
      '{"fulfillmentMessages":[{"card":{"buttons":{"text":"Buy"}}}]}',
      "invalid answer: /fulfillmentMessages/0/card/buttons must be array",
    ],
    [
      '{"fulfillmentMessages":[{"card":{"buttons":[{"text":1}]}}]}',
      "invalid answer: /fulfillmentMessages/0/card/buttons/0/text must be string",
    ],
    [
      '{"fulfillmentMessages":[{"card":{"buttons":[null]}}]}',
      "invalid answer: /fulfillmentMessages/0/card/buttons/0 must be object",
    ],
    [
      '{"fulfillmentMessages":[{"card":{"title":["T"]}}]}',
      "invalid answer: /fulfillmentMessages/0/card/title must be string",
    ],
    [
      '{"fulfillmentMessages":[{"image":{"imageUri":{}}}]}',
      "invalid answer: /fulfillmentMessages/0/image/imageUri must be string",
    ],
    [
      '{"fulfillmentMessages":[{"image":"https://x/y.png"}]}',
      "invalid answer: /fulfillmentMessages/0/image must be object",
    ],
    [
      '{"fulfillmentMessages":[{"quickReplies":{"quickReplies":"yes"}}]}',
      "invalid answer: /fulfillmentMessages/0/quickReplies/quickReplies must be array",
    ],
    [
      '{"fulfillmentMessages":[{"quickReplies":{"title":1}}]}',
      "invalid answer: /fulfillmentMessages/0/quickReplies/title must be string",
    ],
    [
      '{"fulfillmentMessages":[{"basicCard":{"buttons":[{"openUriAction":{"uri":5}}]}}]}',
      "invalid answer: /fulfillmentMessages/0/basicCard/buttons/0/openUriAction/uri must be string",
    ],
    [
      '{"fulfillmentMessages":[{"payload":{"telegram":"hi"}}]}',
      "invalid answer: /fulfillmentMessages/0/payload/telegram must be object",
    ],
    ['{"fulfillmentMessages":[{"payload":[1]}]}', "invalid answer: /fulfillmentMessages/0/payload must be object"],
    ['{"payload":{"facebook":[{"text":"hi"}]}}', "invalid answer: /payload/facebook must be object"],
    ['{"payload":"telegram"}', "invalid answer: /payload must be object"],
    [
      '{"outputContexts":[{"lifespanCount":2}]}',
      "invalid answer: /outputContexts/0 must have required properties name",
    ],
    [
      '{"outputContexts":[{"name":""}]}',
      "invalid answer: /outputContexts/0/name must not have fewer than 1 characters",
    ],
    ['{"outputContexts":[{"name":5}]}', "invalid answer: /outputContexts/0/name must be string"],
    [
      '{"outputContexts":[{"name":"a","lifespanCount":"2"}]}',
      "invalid answer: /outputContexts/0/lifespanCount must be integer",
    ],
    [
      '{"outputContexts":[{"name":"a","lifespanCount":-1}]}',
      "invalid answer: /outputContexts/0/lifespanCount must be >= 0",
    ],
    [
      '{"outputContexts":[{"name":"a","parameters":[]}]}',
      "invalid answer: /outputContexts/0/parameters must be object",
    ],
    ['{"outputContexts":[null]}', "invalid answer: /outputContexts/0 must be object"],
    ['{"followupEventInput":"next"}', "invalid answer: /followupEventInput must be object"],
    [
      '{"followupEventInput":{"parameters":{}}}',
      "invalid answer: /followupEventInput must have required properties name",
    ],
    [
      '{"followupEventInput":{"name":"next","parameters":"x"}}',
      "invalid answer: /followupEventInput/parameters must be object",
    ],
    ['{"source":1}', "invalid answer: /source must be string"],
  ];
  for (const [given, error] of cases) {
    body = given;
    const result = await client.call(endpoint, request);
    assert.ok(!result.ok, given);
    assert.equal(result.error, error, given);
    assert.equal(result.httpStatus, undefined, "a 200 with a bad body has no failing status");
  }
  assert.equal(backend.requests, cases.length, "a bad answer is not asked for again");
  body = '{"fulfillmentMessages":[],"outputContexts":[],"fulfillmentText":"ok"}';
  const result = await client.call(endpoint, request);
  assert.ok(result.ok);
  assert.deepEqual(result.response, { fulfillmentMessages: [], outputContexts: [], fulfillmentText: "ok" });
  // What is not read is not checked: Dialogflow backends send many more fields (Actions on Google's).
  const tolerated = {
    fulfillmentText: "ok",
    webhookPayload: { google: { expectUserResponse: true } },
    fulfillmentMessages: [
      { platform: "ACTIONS_ON_GOOGLE", simpleResponses: { simpleResponses: [{ textToSpeech: "hi" }] } },
      { text: { text: ["hi"] }, extra: 1 },
      { card: { title: "T", buttons: [{ text: "B", postback: "p", style: 1 }] } },
      { payload: { google: [1], telegram: { text: "t" } } },
    ],
    outputContexts: [{ name: "c", lifespanCount: 0, parameters: { a: [1] }, note: null }],
    followupEventInput: { name: "next", languageCode: "en", extra: true },
    payload: { google: "anything" },
  };
  body = JSON.stringify(tolerated);
  const extra = await client.call(endpoint, request);
  assert.ok(extra.ok, JSON.stringify(extra));
  assert.deepEqual(extra.response, tolerated);
  client.shutdown();
  await backend.close();
});

test("requests are JSON POSTs; without signing secrets or credentials they carry no signature and no authorization", async () => {
  mode = "ok";
  const client = createFulfillmentClient(egress);
  for (const auth of [undefined, {}, { signingSecrets: [] }]) {
    const result = await client.call(
      { id: "plain", url: backend.url, timeoutMs: 2000, ...(auth ? { auth } : {}) },
      request,
    );
    assert.ok(result.ok);
    const headers = backend.received.at(-1)!.headers;
    assert.equal(backend.received.at(-1)!.method, "POST");
    assert.equal(headers["content-type"], "application/json");
    for (const name of ["webhook-id", "webhook-signature", "webhook-timestamp", "authorization"])
      assert.equal(headers[name], undefined, `${JSON.stringify(auth)}: ${name}`);
    assert.deepEqual(JSON.parse(backend.received.at(-1)!.body), request);
  }
  client.shutdown();
});

test("the circuit breaker by default: opens after 3 failures in a row, for 1.5 s, then lets one call through", async (t) => {
  let status = 500;
  const backend = await countingBackend((_n, res) => answer(res, status));
  t.mock.timers.enable({ apis: ["setTimeout"] }); // the breaker's 1.5 s, exactly
  const client = createFulfillmentClient(egress);
  const endpoint = { id: "defaults", url: backend.url, timeoutMs: 1000 };
  try {
    for (let i = 1; i <= 3; i++) {
      const result = await client.call(endpoint, request);
      assert.ok(!result.ok && !result.circuitOpen, `failure ${i} still calls`);
      assert.equal(backend.requests, i);
    }
    const open = await client.call(endpoint, request);
    assert.ok(!open.ok);
    assert.equal(open.circuitOpen, true);
    assert.equal(open.error, "circuit open: the endpoint failed repeatedly; not called");
    assert.equal(backend.requests, 3);
    t.mock.timers.tick(1_400);
    assert.ok(!(await client.call(endpoint, request)).ok);
    assert.equal(backend.requests, 3, "still open before 1.5 s");
    t.mock.timers.tick(100);
    status = 200;
    assert.ok((await client.call(endpoint, request)).ok, "half open after 1.5 s: a trial call, which succeeds");
    assert.equal(backend.requests, 4);
    assert.ok((await client.call(endpoint, request)).ok, "closed again");
  } finally {
    t.mock.timers.reset();
    client.shutdown();
    await backend.close();
  }
});

test("after an outage the breaker probes by itself and closes on success: the backend is used again within 2 s of coming back", async () => {
  let down = true;
  const backend = await startReceiver((_req, res) => answer(res));
  opened.push(backend);
  backend.server.on("connection", (socket) => {
    if (down) socket.destroy(); // down: every connection fails
  });
  const client = createFulfillmentClient(egress);
  const endpoint = { id: "outage", url: backend.url, timeoutMs: 1000 };
  try {
    for (let i = 0; i < 3; i++) assert.ok(!(await client.call(endpoint, request)).ok);
    let result = await client.call(endpoint, request);
    assert.ok(!result.ok && result.circuitOpen, "open after the outage's failures");
    down = false;
    const back = performance.now();
    let calls = 0;
    while (!result.ok && performance.now() - back < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      result = await client.call(endpoint, request);
      calls++;
    }
    const after = performance.now() - back;
    assert.ok(result.ok, "a call went through");
    assert.ok(after < 2000, `within 2 s of the backend coming back, not ${Math.round(after)} ms`);
    assert.ok(after > 1000 && calls > 10, "and not before: meanwhile the open breaker answered at once");
    assert.equal(backend.received.length, 1, "one trial call reached the backend");
    assert.ok((await client.call(endpoint, request)).ok, "closed again: the next call goes through too");
    assert.equal(backend.received.length, 2);
  } finally {
    client.shutdown();
  }
});

test("the circuit breaker's options: volume, error percentage and reset time", async () => {
  let fail = true;
  const backend = await countingBackend((_n, res) => answer(res, fail ? 500 : 200));
  const client = createFulfillmentClient(egress, {
    breaker: { volumeThreshold: 3, errorThresholdPercentage: 75, resetTimeoutMs: 300 },
  });
  const endpoint = { id: "tuned", url: backend.url, timeoutMs: 1000 };
  const closed = async (why: string) => {
    const result = await client.call(endpoint, request);
    assert.ok(!result.ok && !result.circuitOpen, why);
  };
  fail = false;
  assert.ok((await client.call(endpoint, request)).ok);
  fail = true;
  await closed("1 of 2 failed: fewer calls than volumeThreshold");
  await closed("2 of 3 failed (67%): not over 75%");
  await closed("3 of 4 failed (75%): not over 75%");
  assert.equal(backend.requests, 4);
  await closed("4 of 5 failed (80%): called, and this failure opens it");
  const open = await client.call(endpoint, request);
  assert.ok(!open.ok && open.circuitOpen);
  assert.equal(backend.requests, 5);
  await new Promise((resolve) => setTimeout(resolve, 400));
  fail = false;
  assert.ok((await client.call(endpoint, request)).ok, "after 300 ms a trial call goes through");
  client.shutdown();
  await backend.close();
});

test("after shutdown the breakers refuse calls", async () => {
  const backend = await countingBackend((_n, res) => answer(res, 500));
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 1, resetTimeoutMs: 60_000 } });
  const endpoint = { id: "stopping", url: backend.url, timeoutMs: 1000 };
  await client.call(endpoint, request);
  const open = await client.call(endpoint, request);
  assert.ok(!open.ok && open.circuitOpen);
  client.shutdown();
  const after = await client.call(endpoint, request);
  assert.ok(!after.ok);
  assert.match(after.error, /shut ?down/i, "a shut-down breaker refuses calls");
  await backend.close();
});

test("recorded bodies are cut at 16 KiB on a character boundary; shorter ones are kept whole", () => {
  assert.equal(recordedBody('{"a":1}'), '{"a":1}');
  const long = "é".repeat(RECORDED_BODY_BYTES); // two bytes each
  const cut = recordedBody(long);
  assert.ok(Buffer.byteLength(cut) <= RECORDED_BODY_BYTES);
  assert.equal(cut, "é".repeat(RECORDED_BODY_BYTES / 2));
  const odd = recordedBody(`x${long}`); // the cut falls inside a character: it is dropped
  assert.equal(odd, `x${"é".repeat(RECORDED_BODY_BYTES / 2 - 1)}`);
  assert.ok(!odd.includes("\uFFFD"));
  assert.equal(recordedBody(Buffer.from("abc")), "abc");
});
