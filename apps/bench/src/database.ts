import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate, startEmbeddedPostgres } from "@cb/db";

/**
 * A fresh, migrated database for one benchmark run: on the server of DATABASE_URL when set (dropped
 * afterwards), else in an embedded PostgreSQL.
 */
export async function benchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = process.env.DATABASE_URL;
  if (!server) {
    const embedded = await startEmbeddedPostgres({ dataDir: ".data/bench-postgres", port: 54331 });
    await migrate(embedded.url);
    return { url: embedded.url, drop: () => embedded.stop() };
  }
  const name = `cb_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
