import { subscribe } from "node:diagnostics_channel";
import type { TestContext } from "node:test";
import type { Pool } from "@cb/db";

// Outgoing requests of fetch (undici) not yet answered in full, seen through its diagnostics channels.
let inFlight = 0;
subscribe("undici:request:create", () => inFlight++);
subscribe("undici:request:trailers", () => inFlight--);
subscribe("undici:request:error", () => inFlight--);

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A platform's rate limit measured without waiting for it: Date and setTimeout (which the limiters
 * and the fake read) are simulated for the test, and moved on in 10 ms steps only while no request
 * is on its way, so every request reaches the fake at the simulated instant it started. Sockets
 * stay real, and so do the limits' queries to PostgreSQL (which are given the simulated time).
 * (channel-telegram has the same clock for node:http clients.)
 */
export function simulatedClock(t: TestContext, database: Pool) {
  // The limits' queries are on their way too while the pool has a connection out.
  const querying = () => database.totalCount > database.idleCount || database.waitingCount > 0;
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: Date.now() });
  return {
    /** Moves the clock on until `work` settles, and returns its result. */
    async run<T>(work: Promise<T>, maxMs = 60_000): Promise<T> {
      let settled = false;
      work.then(
        () => (settled = true),
        () => (settled = true),
      );
      for (let elapsed = 0; ; elapsed += 10) {
        // Let started requests reach the fake, and whatever they set in motion run.
        for (let i = 0; i < 5 || inFlight > 0 || querying(); i++) await turn();
        if (settled) return work;
        if (elapsed > maxMs) throw new Error(`not done after ${maxMs} simulated ms`);
        t.mock.timers.tick(10);
      }
    },
  };
}
