// Runs test files with node:test against a real PostgreSQL: DATABASE_URL's server when set (CI, a
// developer's server), else an embedded PostgreSQL started for the run, so a fresh machine needs
// nothing installed. Shared by `npm test` and `npm run test:e2e`.
import { spawn } from "node:child_process";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "@cb/db";

/** Runs `files` (at most `concurrency` at once) and resolves to the exit status. */
export async function runNodeTests(files: string[], concurrency: number): Promise<number> {
  let embedded: EmbeddedDatabase | undefined;
  if (!process.env.DATABASE_URL) {
    embedded = await startEmbeddedPostgres({
      dataDir: ".data/test-postgres",
      port: Number(process.env.TEST_PG_PORT ?? 54330),
    });
    process.env.DATABASE_URL = embedded.url;
  }
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, ...files],
      { stdio: "inherit" },
    );
    child.on("exit", (status) => resolve(status ?? 1));
  });
  await embedded?.stop();
  return code;
}
