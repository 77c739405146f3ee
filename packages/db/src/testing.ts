import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { createDb, createPool, type Db, type Pool } from "./client.ts";
import { dbPackageDir, migrate } from "./migrate.ts";

/**
 * Test databases on a real PostgreSQL server (DATABASE_URL). Each test file gets its own database,
 * cloned from a migrated template, so files run in parallel without seeing each other's rows.
 */
export interface TestDatabase {
  url: string;
  db: Db;
  /** The pool under db, for SQL on the hot paths. */
  pool: Pool;
  drop(): Promise<void>;
}

function serverUrl(): URL {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("tests need DATABASE_URL (npm test starts an embedded PostgreSQL when it is unset)");
  return new URL(url);
}

function withDatabase(url: URL, name: string): string {
  const copy = new URL(url);
  copy.pathname = `/${name}`;
  return copy.toString();
}

async function migrationsHash(): Promise<string> {
  const dir = join(dbPackageDir, "prisma", "migrations");
  const hash = createHash("sha256");
  for (const name of (await readdir(dir)).sort()) {
    if (name.endsWith(".toml")) continue;
    hash.update(name).update(await readFile(join(dir, name, "migration.sql")));
  }
  return hash.digest("hex").slice(0, 12);
}

async function ensureTemplate(admin: pg.Client, server: URL): Promise<string> {
  const template = `cb_template_${await migrationsHash()}`;
  await admin.query("SELECT pg_advisory_lock(727274)");
  try {
    const found = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [template]);
    if (found.rowCount === 0) {
      const building = `${template}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${building}`);
      await admin.query(`CREATE DATABASE ${building}`);
      const url = withDatabase(server, building);
      await migrate(url);
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
    }
  } finally {
    await admin.query("SELECT pg_advisory_unlock(727274)");
  }
  return template;
}

/** A database of its own for a test file: migrated, or with `migrated: false` empty (for tests of migration itself). */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const server = serverUrl();
  const admin = new pg.Client({ connectionString: server.toString() });
  await admin.connect();
  let name: string;
  try {
    name = `cb_test_${randomBytes(6).toString("hex")}`;
    if (options.migrated === false) await admin.query(`CREATE DATABASE ${name}`);
    else await admin.query(`CREATE DATABASE ${name} TEMPLATE ${await ensureTemplate(admin, server)}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(server, name);
  const pool = createPool(url, { max: 5 });
  const db = createDb(pool);
  return {
    url,
    db,
    pool,
    async drop() {
      await db.$disconnect();
      await pool.end();
      const c = new pg.Client({ connectionString: server.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
