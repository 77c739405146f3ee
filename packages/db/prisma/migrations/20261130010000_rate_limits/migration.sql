-- rate-limiter-flexible's PostgreSQL store, in the layout it would create itself: counters every
-- web process shares (failed webhook verifications per source address).
CREATE TABLE "RateLimit" (
    "key" VARCHAR(255) NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "expire" BIGINT,
    CONSTRAINT "RateLimit_pkey" PRIMARY KEY ("key")
);
