import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createPool, type Pool } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { PlatformError } from "../src/errors.ts";
import { platformLimiter, postgresSendLimits, type Budget, type SendLimits } from "../src/rate-limit.ts";

// Two worker processes: two pools on one database, each with its own limits object.
let t: TestDatabase;
let pools: Pool[];
let workers: SendLimits[];
let statements = 0;

before(async () => {
  t = await createTestDatabase();
  pools = [createPool(t.url), createPool(t.url)];
  // Connections opened before the clock matters.
  await Promise.all(pools.flatMap((p) => Array.from({ length: 10 }, () => p.query("SELECT 1"))));
  workers = pools.map((pool) =>
    postgresSendLimits({
      query: (q) => {
        statements++;
        return pool.query(q);
      },
    }),
  );
});
after(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await t.drop();
});

/** The strict receiving end: when each call arrived. */
function platform() {
  const arrivals: { key: string; at: number }[] = [];
  return {
    arrivals,
    call: (limits: SendLimits, budgets: Budget[], key = budgets[0]!.key) =>
      limits.reserve(budgets).then(() => void arrivals.push({ key, at: Date.now() })),
  };
}

/** The most calls that arrived within any `intervalMs` (a sliding window, as platforms count). */
function busiest(at: number[], intervalMs: number): number {
  const sorted = [...at].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= intervalMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

test("two processes together never exceed a budget in any window, and use all of it", async () => {
  const fake = platform();
  const budget = { key: "bot:shared", cap: 5, intervalMs: 600 };
  const from = Date.now();
  // 15 calls from each process at once: 30 calls, 5 per 600 ms (kept 100 ms longer), so 3.5 s.
  await Promise.all(workers.flatMap((w) => Array.from({ length: 15 }, () => fake.call(w, [budget]))));
  const at = fake.arrivals.map((a) => a.at).sort((a, b) => a - b);
  assert.equal(at.length, 30);
  // Arrivals carry this machine's lag (a loaded one answers a query in 100 ms or more), so windows
  // of half the interval are counted; two processes each spending the budget put 10 in one.
  const most = busiest(at, 300);
  assert.ok(most <= 5, `${most} calls within 300 ms: ${at.map((a) => a - from)}`);
  assert.ok(at[4]! - from < 300, `the first five at once (the fifth after ${at[4]! - from} ms)`);
  assert.ok(at[29]! - from < 4000, `the budget is used, not wasted: the last after ${at[29]! - from} ms`);
});

test("a call within budget costs one statement, and so does one that waits its turn", async () => {
  const budget = { key: "bot:statements", cap: 3, intervalMs: 200 };
  const before = statements;
  await Promise.all(workers.map((w) => w.reserve([budget])));
  assert.equal(statements - before, 2);
  // Over budget: a caller does not poll, it sleeps until its place (asking again only when woken
  // far too late, which an overloaded machine can do: then a second statement).
  const waiting = statements;
  await Promise.all(workers.flatMap((w) => [1, 2].map(() => w.reserve([budget]))));
  assert.ok(statements - waiting <= 8, `${statements - waiting} statements for 4 calls`);
});

test("a call woken far too late asks for its place again, and is counted when it really goes", async () => {
  const budget = { key: "bot:late", cap: 1, intervalMs: 200 };
  await workers[0]!.reserve([budget]);
  const before = statements;
  const late = workers[0]!.reserve([budget]);
  // Its place is 300 ms on; the event loop is held up well past it, as an overloaded process is.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const busyUntil = Date.now() + 600;
  while (Date.now() < busyUntil);
  const resumed = Date.now();
  await late;
  assert.equal(statements - before, 2, "asked again");
  // Counted when it really went, so that the calls after it keep their distance from it.
  const { rows } = await t.pool.query(`SELECT starts FROM "SendBudget" WHERE key = 'bot:late'`);
  const last = Number((rows[0].starts as string[]).at(-1));
  assert.ok(last >= resumed - 5, `its start is counted ${resumed - last} ms before it went`);
});

test("a key over budget holds only its own calls: other keys, and other chats of the same bot, go at once", async () => {
  const fake = platform();
  const bot = { key: "bot:b", cap: 30, intervalMs: 1000 };
  const chat = (id: string) => ({ key: `bot:b:${id}`, cap: 1, intervalMs: 1000 });
  const from = Date.now();
  await Promise.all([
    // Three for one chat (one a second), reserved first, from one process...
    ...[1, 2, 3].map(() => fake.call(workers[0]!, [bot, chat("busy")], "busy")),
    // ...then another chat of the same bot, and another bot, from the other.
    fake.call(workers[1]!, [bot, chat("quiet")], "quiet"),
    fake.call(workers[1]!, [{ key: "bot:other", cap: 1, intervalMs: 1000 }], "other"),
  ]);
  const at = (key: string) => fake.arrivals.filter((a) => a.key === key).map((a) => a.at - from);
  assert.ok(at("quiet")[0]! < 500, `the other chat after ${at("quiet")[0]} ms`);
  assert.ok(at("other")[0]! < 500, `the other bot after ${at("other")[0]} ms`);
  const busy = at("busy").sort((a, b) => a - b);
  assert.ok(busy[2]! - busy[0]! >= 1990, `the busy chat's third ${busy[2]! - busy[0]!} ms after its first`);
});

test("a blocked key waits the platform's time in every process; other keys do not", async () => {
  const fake = platform();
  const chat = { key: "bot:c:blocked", cap: 30, intervalMs: 1000 };
  const other = { key: "bot:c:other", cap: 30, intervalMs: 1000 };
  const from = Date.now();
  await workers[0]!.block(chat.key, 800);
  await Promise.all([fake.call(workers[1]!, [chat]), fake.call(workers[1]!, [other])]);
  const at = (key: string) => fake.arrivals.find((a) => a.key === key)!.at - from;
  assert.ok(at(chat.key) >= 790, `the blocked key after ${at(chat.key)} ms`);
  assert.ok(at(other.key) < 400, `another key after ${at(other.key)} ms`);
  // A key with no budget of its own (a WhatsApp customer) can be blocked too.
  const started = Date.now();
  await workers[0]!.block("pair:only-blocked", 500);
  await workers[1]!.reserve([{ key: "pair:only-blocked" }, other]);
  assert.ok(Date.now() - started >= 490, `a block-only key held the call ${Date.now() - started} ms`);
});

test("rows that say nothing any more are deleted as new keys come", async () => {
  await t.pool.query(`INSERT INTO "SendBudget" (key, expire) SELECT 'stale:' || n, $1 FROM generate_series(1, 15) n`, [
    Date.now() - 120_000,
  ]);
  await workers[0]!.reserve([{ key: "fresh:1", cap: 1, intervalMs: 1000 }]);
  const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM "SendBudget" WHERE key LIKE 'stale:%'`);
  assert.equal(rows[0].n, 5, "ten stale rows went with the new key");
});

test("a platform's 'wait' blocks the key it names before the error goes on; unreadable limits are retryable", async () => {
  const limited = platformLimiter(workers[0]!, "test");
  const throttled = new PlatformError("test", "429", "Too Many Requests", true, 700);
  await assert.rejects(
    limited([{ key: "bot:d", cap: 30, intervalMs: 1000 }], "bot:d:chat", () => Promise.reject(throttled)),
    (err) => err === throttled,
  );
  const started = Date.now();
  await workers[1]!.reserve([{ key: "bot:d:chat", cap: 1, intervalMs: 1000 }]);
  assert.ok(Date.now() - started >= 600, `the named key waited ${Date.now() - started} ms`);
  // An error without a time blocks nothing.
  const failed = new PlatformError("test", "500", "Internal Server Error", true);
  await assert.rejects(limited([], "bot:d:other", () => Promise.reject(failed)));
  const again = Date.now();
  await workers[1]!.reserve([{ key: "bot:d:other", cap: 1, intervalMs: 1000 }]);
  assert.ok(Date.now() - again < 300);

  const down = platformLimiter(
    { reserve: () => Promise.reject(new Error("connection refused")), block: async () => {} },
    "test",
  );
  await assert.rejects(
    down([], "k", async () => assert.fail("not called without limits")),
    (err) => err instanceof PlatformError && err.retryable && err.code === "limits_unavailable",
  );
});

test("the budgets cost no WAL and no fresh plan per call: an unlogged table, generic plans in the function", async () => {
  const { rows } = await t.pool.query(
    `SELECT (SELECT relpersistence FROM pg_class WHERE oid = '"SendBudget"'::regclass) AS persistence,
            (SELECT proconfig FROM pg_proc WHERE proname = 'reserve_send_slot') AS config`,
  );
  assert.equal(rows[0].persistence, "u", "SendBudget is unlogged (a crash forgets at most a minute of sends)");
  assert.deepEqual(rows[0].config, ["plan_cache_mode=force_generic_plan"]);
});
