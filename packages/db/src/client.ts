import { PrismaPg } from "@prisma/adapter-pg";
import { defaultLogger, type Logger } from "@cb/logging";
import pg from "pg";
import { orderConnections } from "./connection-order.ts";
import { PrismaClient, type Prisma } from "./generated/prisma/client.ts";

export type Db = PrismaClient;
export type Pool = pg.Pool;

/**
 * SQL with `$n` parameters, for the hot paths (ingest, turns, enqueueing): a pg pool or client, or
 * a Prisma transaction through prismaSql. Prisma's query compiler costs about 0.6 ms of CPU per
 * query here, ten times pg's (`npm run bench:queries`): a turn's dozen queries through it would cap
 * a worker near 80 turns a second.
 */
export interface Sql {
  /** `name` prepares the statement once per connection where the driver can (pg). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(query: {
    text: string;
    values?: unknown[];
    name?: string;
  }): Promise<{ rows: R[] }>;
}

/**
 * Every query has a time limit: the server ends a statement after `statementTimeoutMs`, and the
 * client gives up on one whose connection went silent (a database that vanished mid-query) a little
 * later, so a job or request never waits forever on a dead connection: it fails and is retried.
 */
export const POOL_TIMEOUTS = { statementTimeoutMs: 30_000, queryTimeoutMs: 35_000, connectMs: 5_000 };

export function createPool(connectionString: string, options: { max?: number; logger?: Logger } = {}): Pool {
  const logger = options.logger ?? defaultLogger();
  const max = options.max ?? 10;
  const pool = new pg.Pool({
    connectionString,
    max,
    statement_timeout: POOL_TIMEOUTS.statementTimeoutMs,
    query_timeout: POOL_TIMEOUTS.queryTimeoutMs,
    connectionTimeoutMillis: POOL_TIMEOUTS.connectMs,
  });
  // A connection dropped by a database restart is replaced on next use, never thrown: an idle one
  // reports to the pool, one checked out between queries to itself (and its next query fails).
  const lost = (err: Error & { code?: string }) =>
    logger.warn(
      { err: { message: err.message, code: err.code } },
      "database connection lost; a new one is opened on next use",
    );
  pool.on("error", lost);
  pool.on("connect", (client) => client.on("error", lost));
  orderConnections(pool, max, POOL_TIMEOUTS.connectMs);
  return pool;
}

/** A Prisma client over the pg driver adapter (no native query engine), on its own or a shared pool. */
export function createDb(source: string | Pool, options: { max?: number } = {}): Db {
  const adapter = new PrismaPg(
    typeof source === "string" ? { connectionString: source, max: options.max ?? 10 } : source,
  );
  return new PrismaClient({ adapter });
}

/** Runs Sql inside a Prisma interactive transaction, so SQL helpers join the caller's transaction. */
export function prismaSql(tx: Prisma.TransactionClient): Sql {
  return {
    async query<R>({ text, values = [] }: { text: string; values?: unknown[] }) {
      return { rows: await tx.$queryRawUnsafe<R[]>(text, ...values) };
    },
  } as Sql;
}

/** Runs `work` in a transaction on one pooled connection: committed when it resolves, else rolled back. */
export async function transaction<T>(pool: Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    // A rollback fails only on a broken connection (which the pool then drops): that adds nothing
    // to `err`, which is thrown.
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** A pool error as logged: its message and code, not the whole client pg attaches to it. */
export function withoutClient(err: Error & { code?: string }): Error {
  return Object.assign(new Error(err.message), err.code ? { code: err.code } : {});
}
