import { PlatformError } from "./errors.ts";

/**
 * A platform's sending budget on one key (a bot, a chat, a phone number, a page): at most `cap`
 * calls started in any `intervalMs`. A key without a cap is only ever blocked (a 429 that names it).
 */
export type Budget = { key: string; cap: number; intervalMs: number } | { key: string; cap?: undefined };

/** Sending limits shared by every process of the deployment. */
export interface SendLimits {
  /**
   * Resolves when one more call keeps every budget and no key is blocked; that call is counted.
   * One statement, however long the wait (a second one only for a call woken far too late).
   */
  reserve(budgets: Budget[]): Promise<void>;
  /** The platform asked to wait: no call under `key` starts in the next `ms`, in any process. */
  block(key: string, ms: number): Promise<void>;
}

/** What the PostgreSQL limits need of a pg pool (core does not depend on the database package). */
export interface LimitsStore {
  query(query: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: Record<string, unknown>[] }>;
}

// A call may start this much after its reserved time (a busy event loop) without bunching up.
const LATE_MS = 100;

/** The earliest start that keeps every budget, reserved: one statement. */
async function reserveSlot(store: LimitsStore, budgets: Budget[]): Promise<number> {
  const { rows } = await store.query({
    name: "reserve-send-slot",
    text: "SELECT reserve_send_slot($1::text[], $2::int[], $3::int[], $4::bigint) AS start",
    values: [
      budgets.map((b) => b.key),
      budgets.map((b) => b.cap ?? null),
      budgets.map((b) => (b.cap === undefined ? null : b.intervalMs + LATE_MS)),
      Date.now(),
    ],
  });
  return Number(rows[0]!.start);
}

/**
 * Limits kept in PostgreSQL (table "SendBudget", function reserve_send_slot), which every role
 * already has: one statement per call. Hand-written rather than rate-limiter-flexible's PostgreSQL
 * store, which counts fixed windows (twice the cap gets through across a window's end) and has a
 * caller over budget ask again after msBeforeNext (a query per retry, hundreds of waiting sends
 * waking together, no order among them). Here the statement reserves the earliest start that keeps
 * a sliding window of every budget, and the caller just sleeps until then; waiting callers are
 * served in the order they asked, and only callers sharing a key wait for each other.
 *
 * Times are the callers' clocks (Date.now), as rate-limiter-flexible's are: keep the workers' hosts
 * NTP-synchronised. A call may start a little after its reserved time (a busy event loop): each
 * interval is kept LATE_MS longer, so that calls let out late do not bunch up at the platform.
 */
export function postgresSendLimits(store: LimitsStore): SendLimits {
  return {
    async reserve(budgets) {
      for (let attempt = 1; ; attempt++) {
        const slot = await reserveSlot(store, budgets);
        const wait = slot - Date.now();
        if (wait <= 0) return;
        await new Promise((resolve) => setTimeout(resolve, wait));
        // Woken later than LATE_MS allows for (an overloaded process), the call could bunch up at
        // the platform with calls let out on time: it asks for a place again (a few times at most;
        // its first place stays taken, which only ever errs on the safe side).
        if (Date.now() - slot <= LATE_MS || attempt === 3) return;
      }
    },
    async block(key, ms) {
      const until = Date.now() + ms;
      await store.query({
        name: "block-send-key",
        text: `INSERT INTO "SendBudget" (key, "blockedUntil", expire) VALUES ($1, $2, $2)
               ON CONFLICT (key) DO UPDATE SET "blockedUntil" = greatest("SendBudget"."blockedUntil", $2),
                 expire = greatest("SendBudget".expire, $2)`,
        values: [key, until],
      });
    },
  };
}

/**
 * A channel's platform calls within its limits: `limited(budgets, blockKey, call)` waits for the
 * budgets, then calls. When the platform answers "too many, wait" (a PlatformError with
 * retryAfterMs), `blockKey`, the narrowest key the answer is about, is blocked for that long in
 * every process before the error goes on; unrelated keys keep sending.
 */
export function platformLimiter(limits: SendLimits, platform: string) {
  return async function limited<T>(
    budgets: Budget[],
    blockKey: string | ((err: PlatformError) => string),
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      await limits.reserve(budgets);
    } catch (err) {
      // The database, not the platform: worth another try later, like a network failure.
      throw new PlatformError(
        platform,
        "limits_unavailable",
        `sending limits unreadable: ${(err as Error).message}`,
        true,
      );
    }
    try {
      return await call();
    } catch (err) {
      if (err instanceof PlatformError && err.retryAfterMs !== undefined) {
        const key = typeof blockKey === "string" ? blockKey : blockKey(err);
        await limits.block(key, err.retryAfterMs).catch((blockErr: unknown) => {
          // Unrecorded, the wait still holds this send (the caller honours retryAfterMs), not others.
          throw new PlatformError(
            platform,
            err.code,
            `${err.message} (the wait could not be shared: ${(blockErr as Error).message})`,
            true,
            err.retryAfterMs,
          );
        });
      }
      throw err;
    }
  };
}
