import { join, resolve } from "node:path";
import { channelDrivers } from "@cb/channels";
import { postgresSendLimits, type ChannelDriver } from "@cb/core";
import { createAccountDirectory, type AccountDirectory } from "@cb/conversation";
import {
  createDb,
  createPool,
  migrate,
  startEmbeddedPostgres,
  type Db,
  type EmbeddedDatabase,
  type Pool,
} from "@cb/db";
import { createLogger, type Logger } from "@cb/logging";
import { observePool } from "@cb/observability";
import { createSealer, parseKeyRing, type Sealer } from "@cb/secrets";
import { channelEnvironment, type Config } from "./config.ts";
import { localKeyRing } from "./keys.ts";

/** Every channel this build speaks: the registry's. */
export { channelDrivers };

export interface Runtime {
  config: Config;
  databaseUrl: string;
  db: Db;
  /** The pool under db, for SQL on the hot paths. */
  pool: Pool;
  sealer: Sealer;
  drivers: readonly ChannelDriver[];
  accounts: AccountDirectory;
  channelEnv: Record<string, string | undefined>;
  /** The process logger, at LOG_LEVEL; every part of every role logs through it (or a child). */
  logger: Logger;
  close(): Promise<void>;
}

/**
 * Opens what every role needs: the logger (at LOG_LEVEL unless one is given), the database (an
 * embedded PostgreSQL when DATABASE_URL is unset), migrated; the secrets sealer; the channel
 * drivers and the account directory.
 */
export async function openRuntime(
  config: Config,
  logger: Logger = createLogger({ level: config.LOG_LEVEL }),
): Promise<Runtime> {
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    logger.info({ dataDir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT }, "starting the embedded PostgreSQL");
    embedded = await startEmbeddedPostgres({
      dataDir: config.EMBEDDED_PG_DIR,
      port: config.EMBEDDED_PG_PORT,
      log: (line) => logger.debug({ postgres: line }, "embedded PostgreSQL"),
    });
    if (embedded.dataDir !== resolve(config.EMBEDDED_PG_DIR))
      logger.warn(
        { dataDir: embedded.dataDir, configured: config.EMBEDDED_PG_DIR },
        "the embedded PostgreSQL keeps its data elsewhere: the postgres user cannot enter the configured directory",
      );
    databaseUrl = embedded.url;
  }
  await migrate(databaseUrl);

  let keys = config.SECRETS_KEYS;
  if (!keys) {
    if (!embedded)
      throw new Error("SECRETS_KEYS is required with an external DATABASE_URL (see README, Configuration)");
    keys = await localKeyRing(join(config.EMBEDDED_PG_DIR, "..", "secrets.keys"));
  }
  const sealer = createSealer(parseKeyRing(keys));
  const pool = createPool(databaseUrl, { max: config.DATABASE_POOL_SIZE, logger });
  const db = createDb(pool);
  observePool("runtime", pool);
  const channelEnv = channelEnvironment(config);
  const accounts = createAccountDirectory({
    db,
    sealer,
    drivers: channelDrivers,
    env: channelEnv,
    limits: postgresSendLimits(pool),
  });

  return {
    config,
    databaseUrl,
    db,
    pool,
    sealer,
    drivers: channelDrivers,
    accounts,
    channelEnv,
    logger,
    async close() {
      await db.$disconnect();
      await pool.end();
      await embedded?.stop();
    },
  };
}
