import { test } from "node:test";
import assert from "node:assert/strict";
import { keyedRateLimiter } from "../src/rate-limit.ts";

const started = (log: number[], from: number) => async () => {
  log.push(performance.now() - from);
};

test("a limiter starts calls at once while the budget allows, and holds the rest to the next interval", async () => {
  const limit = keyedRateLimiter({ cap: 2, intervalMs: 300 })("bot");
  const log: number[] = [];
  const from = performance.now();
  await Promise.all([1, 2, 3].map(() => limit(started(log, from))));
  assert.equal(log.length, 3);
  assert.ok(log[1]! < 150, `second call started after ${log[1]} ms`);
  assert.ok(log[2]! >= 290, `third call started after ${log[2]} ms, within the first interval`);
});

test("a limiter passes on each call's result and error", async () => {
  const limit = keyedRateLimiter({ cap: 5, intervalMs: 1000 })("bot");
  assert.equal(await limit(async () => 42), 42);
  await assert.rejects(
    limit(async () => Promise.reject(new Error("refused"))),
    /refused/,
  );
});

test("keys are limited apart, and a key keeps its spacing across a pause shorter than its interval", async () => {
  const perKey = keyedRateLimiter({ cap: 1, intervalMs: 200, concurrency: 1 });
  const a: number[] = [];
  const b: number[] = [];
  const from = performance.now();
  await Promise.all([perKey("a")(started(a, from)), perKey("b")(started(b, from)), perKey("a")(started(a, from))]);
  assert.ok(b[0]! < 100, "another key is not held up");
  assert.ok(a[1]! - a[0]! >= 190, `one key's calls ${a[1]! - a[0]!} ms apart`);
  // Used again just within its interval: still spaced. (The queue, had it been dropped, would not be.)
  await new Promise((resolve) => setTimeout(resolve, 100));
  const again = performance.now();
  await perKey("a")(async () => {});
  assert.ok(performance.now() - again >= 50, "spacing kept across a short pause");
});
