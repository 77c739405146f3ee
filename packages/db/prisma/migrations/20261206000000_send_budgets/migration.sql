-- Platform sending limits shared by every worker process (packages/core/src/rate-limit.ts): per key
-- (a bot, a chat, a phone number, a page, a channel) the start times of the sends reserved under it,
-- and until when the platform asked us to wait (a 429's Retry-After).
CREATE TABLE "SendBudget" (
    "key" TEXT NOT NULL,
    -- Start times (ms since the epoch), ascending: those within the last interval, and reserved ones.
    "starts" BIGINT[] NOT NULL DEFAULT '{}',
    "blockedUntil" BIGINT NOT NULL DEFAULT 0,
    -- After this the row says nothing any more and may be deleted.
    "expire" BIGINT NOT NULL,
    CONSTRAINT "SendBudget_pkey" PRIMARY KEY ("key")
);
CREATE INDEX "SendBudget_expire_idx" ON "SendBudget"("expire");

-- Reserves the earliest start, from now_ms on, at which one more call keeps every given budget: at
-- most caps[i] starts in any intervals[i] ms under keys[i] (a sliding window, as platforms count),
-- and none before the key's blockedUntil. A NULL cap is a key that is only ever blocked. Returns
-- the start; the caller waits until then. One statement per send, and waiting callers are served in
-- the order they asked, without asking again.
CREATE FUNCTION reserve_send_slot(keys TEXT[], caps INTEGER[], intervals INTEGER[], now_ms BIGINT)
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
  slot BIGINT := now_ms;
  before BIGINT;
  b RECORD;
  e BIGINT[];
  n INTEGER;
  created INTEGER;
BEGIN
  INSERT INTO "SendBudget" (key, expire)
  SELECT l.key, now_ms FROM unnest(keys, caps) AS l(key, cap) WHERE l.cap IS NOT NULL ORDER BY l.key
  ON CONFLICT (key) DO NOTHING;
  GET DIAGNOSTICS created = ROW_COUNT;
  -- New keys (chats) keep coming; a few rows that say nothing any more go with each.
  IF created > 0 THEN
    DELETE FROM "SendBudget" WHERE key IN (
      SELECT key FROM "SendBudget" WHERE expire < now_ms - 60000 AND key <> ALL (keys)
      ORDER BY expire LIMIT 10 FOR UPDATE SKIP LOCKED);
  END IF;
  -- Locked in key order, so that callers sharing keys (a bot's) wait for each other, never deadlock.
  PERFORM 1 FROM "SendBudget" WHERE key = ANY (keys) ORDER BY key FOR UPDATE;
  -- Until one pass over the keys moves the slot no more: a later slot for one key may not suit another.
  LOOP
    before := slot;
    FOR b IN
      SELECT s.starts, s."blockedUntil", l.cap, l.ms
      FROM unnest(keys, caps, intervals) AS l(key, cap, ms) JOIN "SendBudget" s USING (key)
    LOOP
      slot := greatest(slot, b."blockedUntil");
      IF b.cap IS NULL THEN CONTINUE; END IF;
      e := b.starts;
      n := cardinality(e);
      -- `cap` starts within less than an interval of each other leave no room among them: the
      -- slot goes an interval after the first. Only ever later, so earlier groups stay satisfied.
      FOR j IN 1 .. n - b.cap + 1 LOOP
        IF greatest(e[j + b.cap - 1], slot) - least(e[j], slot) < b.ms THEN
          slot := e[j] + b.ms;
        END IF;
      END LOOP;
    END LOOP;
    EXIT WHEN slot = before;
  END LOOP;
  -- Starts an interval old no longer count (every later slot is at now_ms or after).
  UPDATE "SendBudget" s SET
    starts = ARRAY(SELECT t FROM unnest(s.starts || slot) t WHERE t > now_ms - l.ms ORDER BY t),
    expire = greatest(s.expire, slot + l.ms, s."blockedUntil")
  FROM unnest(keys, caps, intervals) AS l(key, cap, ms)
  WHERE s.key = l.key AND l.cap IS NOT NULL;
  RETURN slot;
END $$;
