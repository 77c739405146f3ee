// `npm test`: every package's and app's tests in one node:test run, against a real PostgreSQL.
// With DATABASE_URL set (CI, a developer's server) the tests use that server; without it, an
// embedded PostgreSQL is started for the run, so the command works on a fresh machine too.
import { spawn } from "node:child_process";
import { globSync } from "node:fs";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "@cb/db";

const files = globSync(["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts", "docker/test/**/*.test.ts"]).sort();
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((part) => f.includes(part))) : files;

let embedded: EmbeddedDatabase | undefined;
if (!process.env.DATABASE_URL) {
  embedded = await startEmbeddedPostgres({
    dataDir: ".data/test-postgres",
    port: Number(process.env.TEST_PG_PORT ?? 54330),
  });
  process.env.DATABASE_URL = embedded.url;
}

const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...selected], {
    stdio: "inherit",
  });
  child.on("exit", (status) => resolve(status ?? 1));
});
await embedded?.stop();
process.exit(code);
