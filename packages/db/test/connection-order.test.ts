import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { orderConnections } from "../src/connection-order.ts";
import { createPool, transaction, withRank, type Pool } from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let t: TestDatabase;
let pool: Pool;

before(async () => {
  t = await createTestDatabase();
  pool = createPool(t.url, { max: 1 });
});
after(async () => {
  await pool.end();
  await t.drop();
});

test("waiting work gets the pool's connections by rank, ties and unranked work first come; queries and transactions alike", async () => {
  const held = await pool.connect();
  const order: string[] = [];
  const ask = (name: string, rank: number[] | null, how: "query" | "transaction" = "query") => {
    const work = () =>
      how === "query"
        ? pool.query("SELECT 1").then(() => order.push(name))
        : transaction(pool, (client) => client.query("SELECT 1")).then(() => order.push(name));
    return rank ? withRank(rank, work) : work();
  };
  const asked = [
    ask("late turn", [0, 2000]),
    ask("new conversation", [0, 1000], "transaction"),
    ask("tie, asked first", [-1, 1500]),
    ask("tie, asked second", [-1, 1500], "transaction"),
    ask("no rank", null),
    ask("under way, earlier", [-1, 500]),
  ];
  await sleep(20);
  assert.equal(pool.waitingCount, 6, "the waiting work counts in the pool's metrics");
  assert.deepEqual(order, [], "nothing runs while the only connection is held");
  held.release();
  await Promise.all(asked);
  assert.deepEqual(order, [
    "no rank",
    "under way, earlier",
    "tie, asked first",
    "tie, asked second",
    "new conversation",
    "late turn",
  ]);
  assert.equal(pool.waitingCount, 0);
});

test("a connection released twice lets one waiter in, not two; a failed connect frees its place", async () => {
  const held = await pool.connect();
  held.release();
  assert.throws(() => held.release(), /already been released/);
  const [a, b] = [pool.connect(), pool.connect()];
  const first = await a;
  assert.equal(await Promise.race([b.then(() => "second in"), sleep(50).then(() => "second waits")]), "second waits");
  first.release();
  (await b).release();

  // A pool whose server is gone: every connect fails, and none keeps its place.
  const unreachable = new pg.Pool({ connectionString: "postgresql://nobody@127.0.0.1:1/none", max: 1 });
  orderConnections(unreachable, 1, 1_000);
  for (let i = 0; i < 3; i++) await assert.rejects(unreachable.query("SELECT 1"), /ECONNREFUSED/);
  await unreachable.end();
});

test("waiting for a connection is bounded by the pool's connection timeout, and the timed-out waiter leaves the line", async () => {
  const small = new pg.Pool({ connectionString: t.url, max: 1 });
  orderConnections(small, 1, 100);
  const held = await small.connect();
  await assert.rejects(small.query("SELECT 1"), /timeout exceeded when trying to connect/);
  assert.equal(small.waitingCount, 0);
  held.release();
  assert.deepEqual((await small.query<{ one: number }>("SELECT 1 AS one")).rows, [{ one: 1 }]);
  await small.end();
});
