import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createPool, untilDatabaseAnswers } from "../src/index.ts";
import { createTestDatabase } from "../src/testing.ts";

/**
 * A loopback stand-in for a database that is away: it cuts every connection at once (as a server
 * restarting does) until `back()`, then forwards them to the real one.
 */
async function flakyProxy(target: URL) {
  let up = false;
  let attempts = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    attempts++;
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    if (!up) return client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(target.href);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.href,
    get attempts() {
      return attempts;
    },
    back: () => {
      up = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test("waiting for the database: one probe however many wait, resolved soon after it answers again", async () => {
  const t = await createTestDatabase();
  const proxy = await flakyProxy(new URL(t.url));
  const pool = createPool(proxy.url, { max: 2 });
  try {
    let resolved = 0;
    const waiters = Array.from({ length: 20 }, () => untilDatabaseAnswers(pool).then(() => resolved++));
    await sleep(1_000);
    assert.equal(resolved, 0, "not while every connection is cut");
    assert.ok(proxy.attempts >= 2, "it keeps trying");
    assert.ok(proxy.attempts <= 10, `one probe for all twenty waiters, every 200 ms (${proxy.attempts} tries in 1 s)`);

    proxy.back();
    const backAt = Date.now();
    await Promise.all(waiters);
    assert.equal(resolved, 20);
    assert.ok(Date.now() - backAt < 2_000, "within a probe's interval or so of its return");
    await untilDatabaseAnswers(pool); // and at once while it answers
  } finally {
    await pool.end();
    await proxy.close();
    await t.drop();
  }
});

test("waiting for the database ends with the signal's reason, or with an error that is not its absence", async () => {
  const t = await createTestDatabase();
  const proxy = await flakyProxy(new URL(t.url));
  const pool = createPool(proxy.url, { max: 1 });
  try {
    const abort = new AbortController();
    const waiting = untilDatabaseAnswers(pool, abort.signal);
    abort.abort(new Error("the job ran longer than its limit"));
    await assert.rejects(waiting, /longer than its limit/);
  } finally {
    await pool.end();
    await proxy.close();
  }
  // A pool that was ended is no database restarting: that is said at once.
  await assert.rejects(untilDatabaseAnswers(pool), /pool/i);
  await t.drop();
});
