import { AsyncLocalStorage } from "node:async_hooks";
import type pg from "pg";

/**
 * Where work stands in line for a pool's connections: lower first, compared element by element
 * (a missing element counts as lowest, so work without a rank goes before all ranked work).
 */
export type Rank = readonly number[];

const ranks = new AsyncLocalStorage<Rank>();

/** Runs `work` with every connection it asks its pools for (queries, transactions) ranked `rank`. */
export function withRank<T>(rank: Rank, work: () => T): T {
  return ranks.run(rank, work);
}

function compare(a: Rank, b: Rank): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? -Infinity;
    const y = b[i] ?? -Infinity;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

interface Waiter {
  rank: Rank;
  grant(): void;
}

/**
 * Hands a pool's connections to waiting work by rank rather than first come (pg-pool's own queue),
 * ties in the order asked. Under a burst a worker has hundreds of turns in flight, each asking for
 * a connection several times: first come, every turn waits behind every other at each step, so all
 * finish late together. By rank (a turn's job priority, then when it was queued) the oldest turns
 * finish first, and a conversation under way passes a burst of new ones. pg-pool has no such
 * option, so a gate of the pool's size stands in front of `connect` (which `query` uses too);
 * waiting in it is bounded by the pool's connection timeout, as waiting in pg-pool's queue was.
 */
export function orderConnections(pool: pg.Pool, size: number, timeoutMs: number): void {
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  const waiting: Waiter[] = [];
  let inUse = 0;

  const free = () => {
    const next = waiting.shift();
    if (next) next.grant();
    else inUse--;
  };

  const admitted = (): Promise<void> => {
    if (inUse < size) {
      inUse++;
      return Promise.resolve();
    }
    const rank = ranks.getStore() ?? [];
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        rank,
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(waiter), 1);
        reject(new Error("timeout exceeded when trying to connect"));
      }, timeoutMs).unref();
      // After the last waiter that does not rank after it: ties keep the order asked.
      let at = waiting.length;
      while (at > 0 && compare(waiting[at - 1]!.rank, rank) > 0) at--;
      waiting.splice(at, 0, waiter);
    });
  };

  async function acquire(): Promise<pg.PoolClient> {
    await admitted();
    let client: pg.PoolClient;
    try {
      client = await connect();
    } catch (err) {
      free();
      throw err;
    }
    // pg-pool sets `release` on every checkout; this one also lets the next in line in, once.
    const release = client.release.bind(client);
    let released = false;
    client.release = (err?: Error | boolean) => {
      if (!released) {
        released = true;
        free();
      }
      return release(err);
    };
    return client;
  }

  type Callback = (err: Error | undefined, client?: pg.PoolClient, done?: (err?: Error | boolean) => void) => void;
  pool.connect = ((callback?: Callback) => {
    const acquiring = acquire();
    if (!callback) return acquiring;
    acquiring.then(
      (client) => callback(undefined, client, client.release),
      (err: Error) => callback(err),
    );
  }) as pg.Pool["connect"];
  // The pool's metrics count the work waiting here too (pg-pool's getter, on its prototype, counts its own queue).
  const prototype: unknown = Object.getPrototypeOf(pool);
  Object.defineProperty(pool, "waitingCount", {
    get: () => waiting.length + (Reflect.get(prototype as object, "waitingCount", pool) as number),
  });
}
