import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { runMigrations } from "graphile-worker";
import pg from "pg";

export const dbPackageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");

// Our own advisory lock around the whole of a migration. Prisma's lock gives up after 10 s, and
// its CLI holds that lock for about 10 s more than the migration takes (it lingers on a timer of
// its WASM engine), so two roles started together on one database could fail on it.
export const MIGRATE_LOCK_KEY = "hashtext('cb:migrate')";

/**
 * Brings a database up to date: the application's schema with `prisma migrate deploy` (WASM schema
 * engine through the driver adapter), then graphile-worker's job schema. Processes started together
 * wait their turn, without a time limit; a process that finds every shipped migration applied
 * skips Prisma's CLI, which is most of a role's start-up time.
 */
export async function migrate(databaseUrl: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  const lock = await pool.connect();
  try {
    await lock.query(`SELECT pg_advisory_lock(${MIGRATE_LOCK_KEY})`);
    if (await schemaBehind(lock)) await migrateSchema(databaseUrl);
    await runMigrations({ pgPool: pool });
  } finally {
    // Ending the session releases the lock.
    lock.release(true);
    await pool.end();
  }
}

async function schemaBehind(client: pg.PoolClient): Promise<boolean> {
  const {
    rows: [table],
  } = await client.query<{ found: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`);
  if (!table!.found) return true;
  return (
    (await pendingMigrations(async (sql) => (await client.query<{ migration_name: string }>(sql)).rows)).length > 0
  );
}

async function migrateSchema(databaseUrl: string): Promise<void> {
  try {
    await promisify(execFile)(process.execPath, [prismaCli, "migrate", "deploy"], {
      cwd: dbPackageDir,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    // The CLI prints the connection string in some errors; never pass it on.
    const detail = `${e.stdout ?? ""}${e.stderr ?? ""}`.replaceAll(databaseUrl, "<DATABASE_URL>");
    throw new Error(`database migration failed: ${detail.trim()}`);
  }
}

/** Migrations shipped with this build that the database has not applied (for /readyz). */
export async function pendingMigrations(
  query: (sql: string) => Promise<{ migration_name: string }[]>,
): Promise<string[]> {
  const shipped = (await readdir(join(dbPackageDir, "prisma", "migrations"), { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  const applied = new Set(
    (
      await query(
        `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      )
    ).map((row) => row.migration_name),
  );
  return shipped.filter((name) => !applied.has(name));
}
