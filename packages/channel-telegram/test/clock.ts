import { subscribe } from "node:diagnostics_channel";
import type { TestContext } from "node:test";
import type { Pool } from "@cb/db";

// Outgoing HTTP requests not yet answered, seen through Node's own diagnostics channels.
let inFlight = 0;
subscribe("http.client.request.start", () => inFlight++);
subscribe("http.client.response.finish", () => inFlight--);
subscribe("http.client.request.error", () => inFlight--);

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Telegram's limits without waiting for them: Date and setTimeout (which the limiters and the fake
 * read) are simulated for the test, and moved on in 100 ms steps only while no call is on its way to
 * the fake, so every call arrives at the simulated instant it started. Sockets stay real, and so do
 * the limits' queries to PostgreSQL (which are given the simulated time).
 */
export function simulatedClock(t: TestContext, database: Pool) {
  // The limits' queries are on their way too while the pool has a connection out.
  const querying = () => database.totalCount > database.idleCount || database.waitingCount > 0;
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: Date.now() });
  return {
    /** Moves the clock on until `work` settles, and returns its result. */
    async run<T>(work: Promise<T>, maxMs = 120_000): Promise<T> {
      let settled = false;
      work.then(
        () => (settled = true),
        () => (settled = true),
      );
      for (let elapsed = 0; ; elapsed += 100) {
        // Let started calls reach the fake, and whatever they set in motion run.
        for (let i = 0; i < 5 || inFlight > 0 || querying(); i++) await turn();
        if (settled) return work;
        if (elapsed > maxMs) throw new Error(`not done after ${maxMs} simulated ms`);
        t.mock.timers.tick(100);
      }
    },
  };
}
