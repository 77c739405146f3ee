import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { captureLogs, LEVEL } from "@cb/logging/testing";
import { createPool } from "../src/index.ts";
import { createTestDatabase } from "../src/testing.ts";

/** Ends the server side of every connection named `name`, as a database restart does. */
async function terminate(admin: { query(text: string, values: unknown[]): Promise<unknown> }, name: string) {
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [name]);
}

async function until(done: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test("a pooled connection dropped by the database is logged as a warning, never thrown, and replaced", async () => {
  const t = await createTestDatabase();
  const { logger, lines } = captureLogs();
  const url = new URL(t.url);
  url.searchParams.set("application_name", "pool-under-test");
  const pool = createPool(url.href, { max: 2, logger });
  try {
    // An idle connection (reported to the pool) and one checked out between queries (to itself).
    await pool.query("SELECT 1");
    const held = await pool.connect();
    await terminate(t.pool, "pool-under-test");
    await until(() => lines.length === 2, "both connections' losses to be logged");
    for (const line of lines) {
      assert.equal(line.level, LEVEL.warn);
      assert.equal(line.msg, "database connection lost; a new one is opened on next use");
      assert.match((line.err as { message: string }).message, /terminat/);
      assert.equal((line.err as { client?: unknown }).client, undefined, "not the client pg attaches");
    }
    held.release(true);
    assert.deepEqual((await pool.query<{ one: number }>("SELECT 1 AS one")).rows, [{ one: 1 }]);
  } finally {
    await pool.end();
    await t.drop();
  }
});
