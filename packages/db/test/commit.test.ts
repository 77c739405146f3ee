import { test } from "node:test";
import assert from "node:assert/strict";
import { COMMIT_WITHOUT_FLUSH } from "../src/index.ts";
import { createTestDatabase } from "../src/testing.ts";

test("COMMIT_WITHOUT_FLUSH turns the flush off for its statement's transaction only", async () => {
  const t = await createTestDatabase();
  const client = await t.pool.connect();
  try {
    await client.query(`CREATE TEMP TABLE counter (n int)`);
    await client.query(`INSERT INTO counter VALUES (0)`);
    const setting = async () => (await client.query(`SHOW synchronous_commit`)).rows[0].synchronous_commit;
    assert.equal(await setting(), "on");
    // On its own: its implicit transaction commits without the flush, and the session is as it was.
    const { rowCount } = await client.query(`UPDATE counter SET n = n + 1 WHERE ${COMMIT_WITHOUT_FLUSH}`);
    assert.equal(rowCount, 1, "the condition holds");
    assert.equal(await setting(), "on");
    // Inside a transaction (which the statements that use it never are) it would hold until its end.
    await client.query("BEGIN");
    await client.query(`UPDATE counter SET n = n + 1 WHERE ${COMMIT_WITHOUT_FLUSH}`);
    assert.equal(await setting(), "off");
    await client.query("COMMIT");
    assert.equal(await setting(), "on");
  } finally {
    client.release();
    await t.drop();
  }
});
