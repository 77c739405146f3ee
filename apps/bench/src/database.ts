import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate, startEmbeddedPostgres } from "@cb/db";

/**
 * A fresh, migrated database for one benchmark run, dropped afterwards: on `on` (a server's URL)
 * or the server of DATABASE_URL when set, else in an embedded PostgreSQL (whose data folder outlives
 * the run, so the run's own database keeps one benchmark's rows and jobs out of the next).
 */
export async function benchDatabase(
  on: string | undefined = process.env.DATABASE_URL,
): Promise<{ url: string; drop(): Promise<void> }> {
  const embedded = on ? undefined : await startEmbeddedPostgres({ dataDir: ".data/bench-postgres", port: 54331 });
  const server = on ?? embedded!.url;
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
      await embedded?.stop();
    },
  };
}
