import type { Pool } from "@cb/db";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { LRUCache } from "lru-cache";
import { RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";

export interface ForgeryLimitOptions {
  pool: Pool;
  /** Failed verifications a source may have in `windowS` before it is refused (100). */
  failures?: number;
  windowS?: number;
  /** How long a source that passed the limit is refused (300 s). */
  blockS?: number;
}

/** The routes where a request proves itself: platform webhooks and the order-event intake. */
const VERIFIED = /^\/(webhooks\/|v1\/tenants\/[^/]+\/events)/;
const FAILED = new Set([401, 403]);

/**
 * Sources that keep failing verification (forged, replayed or foreign-secret requests) are refused
 * with 429 before their requests are parsed or anything is read, so a flood of forgeries cannot
 * starve real traffic. Failures are counted in PostgreSQL (rate-limiter-flexible's store), so every
 * web process sees the same count; the block itself is checked in this process's memory, learnt on
 * the first failure it sees past the limit, so a refused request costs no query.
 *
 * Only sources are limited, not accounts: failures for an account would let anyone who knows its
 * webhook URL have its real platform traffic refused. Behind a proxy, set TRUST_PROXY so the source
 * is the client's address and not the proxy's.
 */
export function registerForgeryLimit(app: FastifyInstance, options: ForgeryLimitOptions): void {
  const blockS = options.blockS ?? 300;
  const limiter = new RateLimiterPostgres({
    storeClient: options.pool,
    storeType: "pool",
    tableName: "RateLimit",
    tableCreated: true,
    keyPrefix: "verify",
    points: options.failures ?? 100,
    duration: options.windowS ?? 60,
    blockDuration: blockS,
    // Rows an hour past expiry are deleted every five minutes: one row per source, never kept.
    clearExpiredByTimeout: true,
  });
  const blocked = new LRUCache<string, true>({ max: 100_000, ttl: blockS * 1000, ttlAutopurge: false });
  const verified = (request: FastifyRequest) => VERIFIED.test(request.url);

  app.addHook("onRequest", async (request, reply) => {
    if (!verified(request)) return;
    const left = blocked.getRemainingTTL(request.ip);
    if (left > 0)
      return reply
        .code(429)
        .header("retry-after", String(Math.ceil(left / 1000)))
        .send({ error: { code: "too_many_failures", message: "too many requests from here failed verification" } });
  });
  // Counted before the refusal is sent: the forger waits for the count, and its next request sees it.
  app.addHook("onSend", async (request, reply, payload) => {
    if (!verified(request) || !FAILED.has(reply.statusCode)) return payload;
    try {
      await limiter.consume(request.ip);
    } catch (err) {
      if (err instanceof RateLimiterRes) blocked.set(request.ip, true, { ttl: Math.max(1000, err.msBeforeNext) });
      else request.log.error({ err }, "counting a failed verification failed");
    }
    return payload;
  });
}
