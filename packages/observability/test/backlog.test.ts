import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { observeBacklog, observePool, registry } from "../src/index.ts";
import { parsePrometheus, sampleValue } from "../src/testing.ts";

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(() => t.drop());

test("scrapes within the cache period share one read of the job queue and inbox", async () => {
  let reads = 0;
  const count = () => reads++;
  t.pool.on("acquire", count);
  try {
    observeBacklog(t.pool, { cacheMs: 60_000 });
    await registry.metrics();
    await registry.metrics();
    await registry.metrics();
    assert.equal(reads, 1);
    observeBacklog(t.pool, { cacheMs: 0 });
    await registry.metrics();
    await registry.metrics();
    assert.equal(reads, 3);
  } finally {
    t.pool.off("acquire", count);
  }
});

test("a read that fails is reported, and not cached: the next scrape reads again", async () => {
  observeBacklog(t.pool, { cacheMs: 60_000 });
  await t.pool.query(`ALTER TABLE "InboundBatch" RENAME TO "InboundBatchAway"`);
  try {
    assert.equal(sampleValue(parsePrometheus(await registry.metrics()), "cb_backlog_read_failed"), 1);
  } finally {
    await t.pool.query(`ALTER TABLE "InboundBatchAway" RENAME TO "InboundBatch"`);
  }
  const samples = parsePrometheus(await registry.metrics());
  assert.equal(sampleValue(samples, "cb_backlog_read_failed"), 0);
  assert.equal(sampleValue(samples, "cb_inbox_backlog_batches"), 0);
});

test("a pool's connections are reported by state under its name", async () => {
  observePool("test", t.pool);
  const held = await t.pool.connect();
  try {
    const samples = parsePrometheus(await registry.metrics());
    assert.equal(sampleValue(samples, "cb_db_pool_connections", { pool: "test", state: "total" }), t.pool.totalCount);
    assert.equal(sampleValue(samples, "cb_db_pool_connections", { pool: "test", state: "idle" }), t.pool.idleCount);
    assert.ok(t.pool.totalCount > t.pool.idleCount, "the held connection is not idle");
  } finally {
    held.release();
  }
});
