import { randomUUID } from "node:crypto";
import type { ChannelAccount, DeliveryStatus, InboundEvent, InboundMessage, ReadWatermark } from "@cb/core";
import { createPool } from "@cb/db";
import type pg from "pg";

export const HANDLE_MESSAGE = "handle-message";

/** The advisory lock key that serializes delivery reports with the sender's write of a message id. */
export const statusLockKey = (channelAccountId: string, platformMessageId: string) => `delivery:${channelAccountId}:${platformMessageId}`;

/** One queue per conversation: graphile-worker runs a queue's jobs one at a time, in order. */
export const conversationQueue = (conversationId: string) => `conversation:${conversationId}`;

export interface Ingestor {
  /**
   * Stores verified inbound events and enqueues their processing; resolves once committed, and
   * only then may the webhook be acknowledged. Rejects when they could not be stored.
   */
  ingest(account: ChannelAccount, events: InboundEvent[]): Promise<void>;
  /** Counters for benchmarks and metrics: transactions written, requests in them, time spent. */
  stats(): { transactions: number; requests: number; writeMs: number };
  close(): Promise<void>;
}

interface Pending {
  account: ChannelAccount;
  events: InboundEvent[];
  resolve(): void;
  reject(err: unknown): void;
}


// Hot statements are prepared once per connection (named), sparing PostgreSQL a parse and plan per
// request. One statement stores a batch of messages: conversations upserted (one row per conversation; ON
// CONFLICT DO UPDATE may touch a row once per statement), messages inserted (a platform's redelivery
// hits the unique (account, direction, dedupeKey) and is skipped: stored once, answered once), and
// one graphile-worker job per new message, in arrival order. A single statement is atomic by itself
// and costs one round trip, which is what makes group commit pay.
const STORE_MESSAGES = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[], $9::timestamptz[])
    WITH ORDINALITY AS u(id, tenant_id, account_id, external_id, dedupe_key, platform_message_id, content, raw, sent_at, n)
), conv AS (
  INSERT INTO "Conversation" (id, "tenantId", "channelAccountId", "externalId", "lastInboundAt")
  SELECT DISTINCT ON (account_id, external_id) gen_random_uuid(), tenant_id, account_id, external_id, sent_at
  FROM input ORDER BY account_id, external_id, sent_at DESC
  ON CONFLICT ("channelAccountId", "externalId") DO UPDATE
    SET "lastInboundAt" = GREATEST("Conversation"."lastInboundAt", EXCLUDED."lastInboundAt")
  RETURNING id, "channelAccountId", "externalId"
), msg AS (
  INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", "platformMessageId", content, raw, status, "updatedAt")
  SELECT i.id, i.tenant_id, i.account_id, c.id, 'in', i.dedupe_key, i.platform_message_id, i.content, i.raw, 'received', now()
  FROM input i JOIN conv c ON c."channelAccountId" = i.account_id AND c."externalId" = i.external_id
  ON CONFLICT ("channelAccountId", direction, "dedupeKey") DO NOTHING
  RETURNING id, "conversationId"
)
SELECT graphile_worker.add_jobs(array_agg(
  ('${HANDLE_MESSAGE}', json_build_object('messageId', m.id), 'conversation:' || m."conversationId", NULL, 10, NULL, NULL, NULL)::graphile_worker.job_spec
  ORDER BY i.n))
FROM msg m JOIN input i ON i.id = m.id`;

// A delivery report never moves a message backwards (read stays read when a late "delivered"
// arrives); "failed" always wins. A report for a message whose platform id is not recorded yet is
// kept and applied by the sender once it is (see applyEarlyReports).
const STORE_STATUS = `
WITH updated AS (
  UPDATE "Message" SET status = $3, error = COALESCE($4::jsonb, error), "updatedAt" = now()
  WHERE "channelAccountId" = $1 AND direction = 'out' AND "platformMessageId" = $2
    AND ($3 = 'failed' OR array_position(ARRAY['pending','sent','delivered','read'], status) < array_position(ARRAY['pending','sent','delivered','read'], $3))
  RETURNING id
)
INSERT INTO "DeliveryReport" (id, "channelAccountId", "platformMessageId", state, error)
SELECT gen_random_uuid(), $1, $2, $3, $4::jsonb
WHERE NOT EXISTS (SELECT 1 FROM "Message" WHERE "channelAccountId" = $1 AND direction = 'out' AND "platformMessageId" = $2)`;

const STORE_READ = `
UPDATE "Message" m SET status = 'read', "updatedAt" = now()
FROM "Conversation" c
WHERE m."conversationId" = c.id AND c."channelAccountId" = $1 AND c."externalId" = $2
  AND m.direction = 'out' AND m.status IN ('sent', 'delivered') AND m."createdAt" <= $3`;

async function writeBatch(client: pg.PoolClient, batch: Pending[]): Promise<void> {
  const messages: { account: ChannelAccount; message: InboundMessage; raw: unknown }[] = [];
  const statuses: { accountId: string; status: DeliveryStatus }[] = [];
  const reads: { accountId: string; read: ReadWatermark }[] = [];
  for (const { account, events } of batch) {
    for (const event of events) {
      if (event.type === "status") statuses.push({ accountId: account.id, status: event.status });
      else if (event.type === "read") reads.push({ accountId: account.id, read: event.read });
      else messages.push({ account, message: event.message, raw: event.raw });
    }
  }
  const transaction = statuses.length > 0 || (reads.length > 0 && messages.length > 0);
  if (transaction) await client.query("BEGIN");
  if (messages.length) {
    await client.query({ name: "store-messages", text: STORE_MESSAGES, values: [
      messages.map(() => randomUUID()),
      messages.map((m) => m.account.tenantId),
      messages.map((m) => m.account.id),
      messages.map((m) => m.message.conversation.externalId),
      messages.map((m) => m.message.platformEventId),
      messages.map((m) => m.message.platformMessageId ?? null),
      messages.map((m) => JSON.stringify(m.message)),
      messages.map((m) => JSON.stringify(m.raw ?? null)),
      messages.map((m) => new Date(m.message.sentAt)),
    ] });
  }
  if (statuses.length) {
    // The same lock the sender takes while recording a message's platform id (outbound.ts), so a
    // report is either applied to the message or kept for the sender, never lost in between.
    const keys = [...new Set(statuses.map(({ accountId, status }) => statusLockKey(accountId, status.platformMessageId)))].sort();
    await client.query("SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest($1::text[]) AS k ORDER BY k", [keys]);
  }
  for (const { accountId, status } of statuses) {
    await client.query({ name: "store-status", text: STORE_STATUS, values: [accountId, status.platformMessageId, status.state, status.error ? JSON.stringify(status.error) : null] });
  }
  for (const { accountId, read } of reads) {
    await client.query({ name: "store-read", text: STORE_READ, values: [accountId, read.conversationExternalId, new Date(read.upTo)] });
  }
  if (transaction) await client.query("COMMIT");
}

/**
 * Durable ingest with group commit: requests arriving within a short window share one transaction
 * (one statement, one fsync), which multiplies throughput under load, while each request still gets its own
 * answer. If a shared transaction fails, its requests are written again one by one, so one bad
 * request never fails the others, and no request is acknowledged unless its own write committed.
 */
export function createIngestor(options: { connectionString: string; maxBatch?: number; concurrency?: number }): Ingestor {
  // Writes in flight at once. While they run, new requests gather into the next batch: the busier
  // the database, the larger (and cheaper per request) the batches, with no timer to tune.
  const concurrency = options.concurrency ?? 2;
  // A write in flight on a connection the server dropped (restart, failover) fails and is answered
  // as failed; createPool replaces idle ones.
  const pool = createPool(options.connectionString, { max: concurrency });
  const maxBatch = options.maxBatch ?? 500;
  let queue: Pending[] = [];
  let running = 0;
  let scheduled = false;
  const idle = new Set<() => void>();
  const counters = { transactions: 0, requests: 0, writeMs: 0 };

  async function write(batch: Pending[]): Promise<void> {
    const client = await pool.connect();
    const started = performance.now();
    try {
      await writeBatch(client, batch);
      counters.transactions++;
      counters.requests += batch.length;
      counters.writeMs += performance.now() - started;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async function flush(batch: Pending[]): Promise<void> {
    try {
      await write(batch);
      for (const p of batch) p.resolve();
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      await Promise.all(batch.map((p) => write([p]).then(p.resolve, p.reject)));
    }
  }

  function drain(): void {
    scheduled = false;
    while (queue.length && running < concurrency) {
      const batch = queue.splice(0, maxBatch);
      running++;
      void flush(batch).finally(() => {
        running--;
        if (queue.length) drain();
        else if (running === 0) for (const done of idle) done();
      });
    }
  }

  return {
    ingest(account, events) {
      if (!events.length) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ account, events, resolve, reject });
        // Requests parsed in the same turn of the event loop join one batch.
        if (!scheduled && running < concurrency) {
          scheduled = true;
          setImmediate(drain);
        }
      });
    },
    stats: () => ({ ...counters }),
    async close() {
      if (queue.length || running) await new Promise<void>((resolve) => idle.add(resolve));
      await pool.end();
    },
  };
}
