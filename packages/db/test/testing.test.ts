import { test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase } from "../src/testing.ts";

test("a test database is migrated and isolated from others", async () => {
  const a = await createTestDatabase();
  const b = await createTestDatabase();
  try {
    await a.db.tenant.create({ data: { name: "Acme" } });
    assert.equal(await a.db.tenant.count(), 1);
    assert.equal(await b.db.tenant.count(), 0);
    const jobs = await a.db.$queryRawUnsafe<{ n: bigint }[]>("SELECT count(*) AS n FROM graphile_worker.jobs");
    assert.equal(Number(jobs[0]!.n), 0);
  } finally {
    await a.drop();
    await b.drop();
  }
});
