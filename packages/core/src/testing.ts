// Fixtures for the channel packages' send-limit tests (exported as @cb/core/testing, never used in
// production code).
import { subscribe } from "node:diagnostics_channel";
import type { TestContext } from "node:test";
import { createPool, type Pool } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { postgresSendLimits, type SendLimits } from "./rate-limit.ts";

export interface TwoWorkers {
  /** The database the limits live in; `pool` is the first worker's. */
  database: TestDatabase;
  limits: SendLimits;
  /** The same limits through a pool of its own: what a second worker process sees. */
  otherWorker: SendLimits;
  close(): Promise<void>;
}

/** The platforms' limits live in PostgreSQL; a second pool with limits of its own is a second worker. */
export async function twoWorkersSendLimits(): Promise<TwoWorkers> {
  const database = await createTestDatabase();
  const otherPool = createPool(database.url);
  return {
    database,
    limits: postgresSendLimits(database.pool),
    otherWorker: postgresSendLimits(otherPool),
    async close() {
      await otherPool.end();
      await database.drop();
    },
  };
}

// Outgoing requests not yet answered: node:http's and fetch's (undici), through their diagnostics channels.
let inFlight = 0;
subscribe("http.client.request.start", () => inFlight++);
subscribe("http.client.response.finish", () => inFlight--);
subscribe("http.client.request.error", () => inFlight--);
subscribe("undici:request:create", () => inFlight++);
subscribe("undici:request:trailers", () => inFlight--);
subscribe("undici:request:error", () => inFlight--);

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A platform's rate limit measured without waiting for it: Date and setTimeout (which the limiters
 * and the fakes read) are simulated for the test, and moved on in `stepMs` steps only while no
 * request is on its way, so every request reaches the fake at the simulated instant it started.
 * Sockets stay real, and so do the limits' queries to PostgreSQL (which are given the simulated time).
 */
export function simulatedClock(t: TestContext, database: Pool, { stepMs = 10, maxMs = 60_000 } = {}) {
  // The limits' queries are on their way too while the pool has a connection out.
  const querying = () => database.totalCount > database.idleCount || database.waitingCount > 0;
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: Date.now() });
  return {
    /** Moves the clock on until `work` settles, and returns its result. */
    async run<T>(work: Promise<T>): Promise<T> {
      let settled = false;
      work.then(
        () => (settled = true),
        () => (settled = true),
      );
      for (let elapsed = 0; ; elapsed += stepMs) {
        // Let started requests reach the fake, and whatever they set in motion run. Bounded, so that
        // something that never settles fails the test with what it was rather than spinning forever.
        const since = performance.now();
        for (let i = 0; i < 5 || inFlight > 0 || querying(); i++) {
          if (performance.now() - since > 60_000)
            throw new Error(
              `stuck for a minute at ${elapsed} simulated ms: ${inFlight} requests in flight, database pool ${database.totalCount} open, ${database.idleCount} idle, ${database.waitingCount} waiting`,
            );
          await turn();
        }
        if (settled) return work;
        if (elapsed > maxMs) throw new Error(`not done after ${maxMs} simulated ms`);
        t.mock.timers.tick(stepMs);
      }
    },
  };
}
