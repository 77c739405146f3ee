import { HttpError, type LimitsStore } from "@cb/core";
import { RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";

/** Messages a visitor may post a minute, and all visitors from one address (a visitor token costs nothing to make). */
export const VISITOR_LIMITS = { perVisitor: 20, perAddress: 60, windowS: 60 };

/**
 * Visitors' posts counted in PostgreSQL (rate-limiter-flexible's store, the "RateLimit" table the
 * web role's other limits use), so every web process sees the same counts. Past either limit a
 * post is refused with 429 and Retry-After, before anything is stored.
 */
export function visitorLimits(pool: LimitsStore, limits = VISITOR_LIMITS) {
  const limiter = (keyPrefix: string, points: number) =>
    new RateLimiterPostgres({
      storeClient: pool,
      storeType: "pool",
      tableName: "RateLimit",
      tableCreated: true,
      keyPrefix,
      points,
      duration: limits.windowS,
      // The web role's forgery limit clears the table's expired rows.
      clearExpiredByTimeout: false,
    });
  const byVisitor = limiter("webchat-visitor", limits.perVisitor);
  const byAddress = limiter("webchat-address", limits.perAddress);
  return {
    /** Counts one post; throws 429 when it is one too many. */
    async consume(accountId: string, externalId: string, ip: string): Promise<void> {
      try {
        await Promise.all([byVisitor.consume(`${accountId}:${externalId}`), byAddress.consume(ip)]);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        throw new HttpError(
          429,
          "rate_limited",
          `too many messages; try again in ${Math.ceil(err.msBeforeNext / 1000)} s`,
          {
            retryAfterS: Math.ceil(err.msBeforeNext / 1000),
          },
        );
      }
    },
  };
}
