import { join, resolve } from "node:path";
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
import { createSealer, parseKeyRing, type Sealer } from "@cb/secrets";
import { messengerDriver } from "@cb/channel-messenger";
import { slackDriver } from "@cb/channel-slack";
import { telegramDriver } from "@cb/channel-telegram";
import { whatsappDriver } from "@cb/channel-whatsapp";
import { channelEnvironment, type Config } from "./config.ts";
import { localKeyRing } from "./keys.ts";

/** Every channel this build speaks. */
export const channelDrivers: ChannelDriver[] = [telegramDriver, whatsappDriver, messengerDriver, slackDriver];

export interface Runtime {
  config: Config;
  databaseUrl: string;
  db: Db;
  /** The pool under db, for SQL on the hot paths. */
  pool: Pool;
  sealer: Sealer;
  drivers: ChannelDriver[];
  accounts: AccountDirectory;
  channelEnv: Record<string, string | undefined>;
  close(): Promise<void>;
}

/**
 * Opens what every role needs: the database (an embedded PostgreSQL when DATABASE_URL is unset),
 * migrated; the secrets sealer; the channel drivers and the account directory.
 */
export async function openRuntime(config: Config, log: (line: string) => void = () => {}): Promise<Runtime> {
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    log(`starting embedded PostgreSQL in ${config.EMBEDDED_PG_DIR} on port ${config.EMBEDDED_PG_PORT}`);
    embedded = await startEmbeddedPostgres({ dataDir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT });
    if (embedded.dataDir !== resolve(config.EMBEDDED_PG_DIR))
      log(`its data is in ${embedded.dataDir}, since the postgres user cannot enter ${config.EMBEDDED_PG_DIR}`);
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
  const pool = createPool(databaseUrl, { max: 20 });
  const db = createDb(pool);
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
    async close() {
      await db.$disconnect();
      await pool.end();
      await embedded?.stop();
    },
  };
}
