import { setTimeout as sleep } from "node:timers/promises";
import type { Pool } from "./client.ts";

/** PostgreSQL's SQLSTATEs for a server going away or not yet taking connections. */
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"]);
const UNAVAILABLE_NODE = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"]);
/** Prisma's codes for an unreachable server or a closed connection. */
const UNAVAILABLE_PRISMA = new Set(["P1001", "P1002", "P1017"]);
const UNAVAILABLE_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Query read timeout",
  "Client has encountered a connection error",
];

/**
 * Whether an error means the database is out of reach for now (restarting, failing over, or the
 * connection died), rather than that the request was wrong: the caller answers 503 and retries,
 * and a platform sending a webhook redelivers it.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    const code = typeof e.code === "string" ? e.code : "";
    if (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_NODE.has(code) || UNAVAILABLE_PRISMA.has(code)) return true;
    if (typeof e.message === "string" && UNAVAILABLE_MESSAGES.some((m) => (e!.message as string).includes(m)))
      return true;
    e = e.cause as typeof e;
  }
  return false;
}

const PROBE_INTERVAL_MS = 200;
const probes = new WeakMap<Pool, Promise<void>>();

/**
 * Resolves once `pool` answers a query again (at once when it does), so that work the database's
 * absence interrupted resumes within a fraction of a second of its return, rather than after a
 * retry's backoff. One probe a pool, however many wait; rejects on an error that is not the
 * database's absence, and with the signal's reason when it fires first.
 */
export function untilDatabaseAnswers(pool: Pool, signal?: AbortSignal): Promise<void> {
  let probe = probes.get(pool);
  if (!probe) {
    probe = (async () => {
      for (;;) {
        try {
          await pool.query("SELECT 1");
          return;
        } catch (err) {
          if (!isDatabaseUnavailable(err)) throw err;
        }
        await sleep(PROBE_INTERVAL_MS);
      }
    })().finally(() => probes.delete(pool));
    probes.set(pool, probe);
  }
  if (!signal) return probe;
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([probe, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}
