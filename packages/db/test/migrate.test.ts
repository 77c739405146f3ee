import { test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { migrate, MIGRATE_LOCK_KEY, pendingMigrations } from "../src/migrate.ts";
import { createTestDatabase } from "../src/testing.ts";

// Prisma Migrate's own advisory lock key (see pris.ly/d/migrate-advisory-locking).
const PRISMA_LOCK = 72707369;

async function session(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

test("roles started together on a fresh database wait their turn and all come up migrated", async () => {
  const database = await createTestDatabase({ migrated: false });
  const holder = await session(database.url);
  try {
    // Hold the migration lock while three roles start, so that all three are waiting at once.
    await holder.query(`SELECT pg_advisory_lock(${MIGRATE_LOCK_KEY})`);
    const starts = [1, 2, 3].map(() => migrate(database.url));
    const waiting = async () =>
      (
        await holder.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory'`,
        )
      ).rows[0].n as number;
    // Without the lock they would not wait at all: fail rather than hang.
    const deadline = Date.now() + 10_000;
    while ((await waiting()) < 3) {
      assert.ok(Date.now() < deadline, "the three roles never all waited on the migration lock");
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(
      (await holder.query(`SELECT to_regclass('_prisma_migrations') AS t`)).rows[0].t,
      null,
      "nothing migrated while the lock is held",
    );

    // Prisma's CLI holds its own lock for about 10 s after a deploy and gives up waiting for it
    // after 10 s: without the lock around it, the second role to start failed with P1002.
    await holder.query(`SELECT pg_advisory_unlock(${MIGRATE_LOCK_KEY})`);
    await Promise.all(starts);
    assert.deepEqual(await pendingMigrations(async (sql) => (await holder.query(sql)).rows), []);
    const jobs = await holder.query(`SELECT count(*)::int AS n FROM graphile_worker.jobs`);
    assert.equal(jobs.rows[0].n, 0);
  } finally {
    await holder.end();
    await database.drop();
  }
});

test("a database already up to date is not handed to Prisma's CLI again", async () => {
  const database = await createTestDatabase();
  const holder = await session(database.url);
  try {
    // With Prisma's lock held elsewhere, its CLI would fail after 10 s (P1002).
    await holder.query(`SELECT pg_advisory_lock(${PRISMA_LOCK})`);
    await migrate(database.url);
    assert.deepEqual(await pendingMigrations(async (sql) => (await holder.query(sql)).rows), []);
  } finally {
    await holder.end();
    await database.drop();
  }
});

test("a migration recorded as failed is handed to Prisma's CLI, which refuses to go on", async () => {
  const database = await createTestDatabase();
  const holder = await session(database.url);
  try {
    const {
      rows: [last],
    } = await holder.query(`SELECT migration_name FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1`);
    await holder.query(`UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = $1`, [
      last.migration_name,
    ]);
    await assert.rejects(
      migrate(database.url),
      (err: Error) => /P3009/.test(err.message) && !err.message.includes(database.url),
    );
  } finally {
    await holder.end();
    await database.drop();
  }
});
