// `npm run test:e2e`: the operator console in a real browser (Debian's chromium through
// playwright-core) against the whole system. Like `npm test`, it uses DATABASE_URL when set and
// otherwise starts an embedded PostgreSQL for the run; each test file starts its own system on a
// fresh database (server, worker, the Telegram Bot API stand-in, the demo backends).
import { spawn } from "node:child_process";
import { globSync } from "node:fs";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "@cb/db";

const files = globSync("apps/console/e2e/**/*.e2e.ts").sort();
let embedded: EmbeddedDatabase | undefined;
if (!process.env.DATABASE_URL) {
  embedded = await startEmbeddedPostgres({
    dataDir: ".data/test-postgres",
    port: Number(process.env.TEST_PG_PORT ?? 54330),
  });
  process.env.DATABASE_URL = embedded.url;
}
const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...files], {
    stdio: "inherit",
  });
  child.on("exit", (status) => resolve(status ?? 1));
});
await embedded?.stop();
process.exit(code);
