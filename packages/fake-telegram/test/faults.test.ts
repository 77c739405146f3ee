import { test } from "node:test";
import assert from "node:assert/strict";
import { startFakeTelegram } from "../src/index.ts";

const token = "4242:faults";

async function call(url: string, method: string, params: Record<string, unknown> = {}) {
  const res = await fetch(`${url}/bot${token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test("injected 429s carry retry_after and 500s are refused, only for send* calls, and nothing refused is recorded", async (t) => {
  const telegram = await startFakeTelegram({ faults: { rate429: 1, retryAfter: 3 } });
  t.after(() => telegram.close());
  telegram.addBot(token);

  const limited = await call(telegram.url, "sendMessage", { chat_id: 1, text: "hi" });
  assert.equal(limited.status, 429);
  assert.deepEqual(limited.body.parameters, { retry_after: 3 });
  assert.equal((await call(telegram.url, "getMe")).status, 200, "only sends are refused");

  telegram.setFaults({ rate500: 1 });
  const failed = await call(telegram.url, "sendMessage", { chat_id: 1, text: "hi" });
  assert.equal(failed.status, 500);
  assert.equal(failed.body.parameters, undefined);

  telegram.setFaults({});
  assert.equal((await call(telegram.url, "sendMessage", { chat_id: 1, text: "hi" })).status, 200);
  assert.deepEqual(
    telegram.calls.map((c) => c.method),
    ["getMe", "sendMessage"],
  );
  assert.deepEqual(telegram.injected, { tooManyRequests: 1, serverErrors: 1 });
});

test("fault rates are shares: half and half refuses every send, with both kinds", async (t) => {
  const telegram = await startFakeTelegram({ faults: { rate429: 0.5, rate500: 0.5 } });
  t.after(() => telegram.close());
  telegram.addBot(token);
  const statuses = new Set<number>();
  for (let i = 0; i < 40; i++)
    statuses.add((await call(telegram.url, "sendMessage", { chat_id: 1, text: "x" })).status);
  assert.deepEqual([...statuses].sort(), [429, 500]);
  assert.equal(telegram.calls.length, 0);
});

test("a delay holds the answer back after the call was accepted", async (t) => {
  const telegram = await startFakeTelegram({ faults: { delayMs: 300 } });
  t.after(() => telegram.close());
  telegram.addBot(token);
  const from = performance.now();
  const answered = call(telegram.url, "sendMessage", { chat_id: 1, text: "hi" });
  const accepted = await telegram.waitFor((c) => c.method === "sendMessage", 1000);
  assert.ok(performance.now() - from < 250, "recorded before the answer is sent");
  assert.equal((await answered).status, 200);
  assert.ok(performance.now() - from >= 290, "answered after the delay");
  assert.ok(accepted.at <= Date.now() - 250);
});

test("bad fault settings are refused", async () => {
  await assert.rejects(startFakeTelegram({ faults: { rate429: 0.7, rate500: 0.5 } }), /at most 1/);
  await assert.rejects(startFakeTelegram({ faults: { rate500: -0.1 } }), /shares/);
  await assert.rejects(startFakeTelegram({ faults: { retryAfter: 0.5 } }), /retryAfter/);
  await assert.rejects(startFakeTelegram({ faults: { delayMs: -1 } }), /delayMs/);
});
