import { randomUUID } from "node:crypto";
import type { ChannelAccount, DeliveryStatus, InboundEvent, InboundMessage } from "@cb/core";
import pg from "pg";

export const HANDLE_MESSAGE = "handle-message";

/** One queue per conversation: graphile-worker runs a queue's jobs one at a time, in order. */
export const conversationQueue = (conversationId: string) => `conversation:${conversationId}`;

export interface Ingestor {
  /**
   * Stores verified inbound events and enqueues their processing; resolves once committed, and
   * only then may the webhook be acknowledged. Rejects when they could not be stored.
   */
  ingest(account: ChannelAccount, events: InboundEvent[]): Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  account: ChannelAccount;
  events: InboundEvent[];
  resolve(): void;
  reject(err: unknown): void;
}

interface MessageRow {
  id: string;
  tenantId: string;
  accountId: string;
  externalId: string;
  dedupeKey: string;
  platformMessageId: string | null;
  content: string;
  raw: string;
  sentAt: Date;
}

const keyOf = (accountId: string, externalId: string) => `${accountId}\u0000${externalId}`;

/**
 * Writes a batch of requests' events in ONE transaction: conversations upserted, messages inserted
 * (a platform's redelivery hits the unique (account, direction, dedupeKey) and is skipped: stored
 * once, answered once), and one graphile-worker job per new message added with a single add_jobs
 * call, all committed together, so a message never exists without its job nor a job without its
 * message.
 */
async function writeBatch(client: pg.PoolClient, batch: Pending[]): Promise<void> {
  const messages: MessageRow[] = [];
  const statuses: { accountId: string; status: DeliveryStatus }[] = [];
  for (const { account, events } of batch) {
    for (const event of events) {
      if (event.type === "status") {
        statuses.push({ accountId: account.id, status: event.status });
        continue;
      }
      const m: InboundMessage = event.message;
      messages.push({
        id: randomUUID(),
        tenantId: account.tenantId,
        accountId: account.id,
        externalId: m.conversation.externalId,
        dedupeKey: m.platformEventId,
        platformMessageId: m.platformMessageId ?? null,
        content: JSON.stringify(m),
        raw: JSON.stringify(event.raw ?? null),
        sentAt: new Date(m.sentAt),
      });
    }
  }

  await client.query("BEGIN");
  if (messages.length) {
    // ON CONFLICT DO UPDATE may touch a row once per statement: one entry per conversation.
    const conversations = new Map<string, MessageRow>();
    for (const m of messages) {
      const seen = conversations.get(keyOf(m.accountId, m.externalId));
      if (!seen || seen.sentAt < m.sentAt) conversations.set(keyOf(m.accountId, m.externalId), m);
    }
    const convRows = [...conversations.values()];
    const { rows: convIds } = await client.query<{ id: string; channelAccountId: string; externalId: string }>(
      `INSERT INTO "Conversation" (id, "tenantId", "channelAccountId", "externalId", "lastInboundAt")
       SELECT gen_random_uuid(), t, a, e, s FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[]) AS u(t, a, e, s)
       ON CONFLICT ("channelAccountId", "externalId") DO UPDATE
         SET "lastInboundAt" = GREATEST("Conversation"."lastInboundAt", EXCLUDED."lastInboundAt")
       RETURNING id, "channelAccountId", "externalId"`,
      [convRows.map((m) => m.tenantId), convRows.map((m) => m.accountId), convRows.map((m) => m.externalId), convRows.map((m) => m.sentAt)],
    );
    const conversationId = new Map(convIds.map((r) => [keyOf(r.channelAccountId, r.externalId), r.id]));

    const { rows: inserted } = await client.query<{ id: string; conversationId: string }>(
      `INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", "platformMessageId", content, raw, status, "updatedAt")
       SELECT i, t, a, c, 'in', d, p, co, r, 'received', now()
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[]) AS u(i, t, a, c, d, p, co, r)
       ON CONFLICT ("channelAccountId", direction, "dedupeKey") DO NOTHING
       RETURNING id, "conversationId"`,
      [
        messages.map((m) => m.id),
        messages.map((m) => m.tenantId),
        messages.map((m) => m.accountId),
        messages.map((m) => conversationId.get(keyOf(m.accountId, m.externalId))),
        messages.map((m) => m.dedupeKey),
        messages.map((m) => m.platformMessageId),
        messages.map((m) => m.content),
        messages.map((m) => m.raw),
      ],
    );
    if (inserted.length) {
      // RETURNING gives no order guarantee; re-sort by arrival so a conversation's jobs queue in order.
      const order = new Map(messages.map((m, i) => [m.id, i]));
      inserted.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      await client.query(
        `SELECT graphile_worker.add_jobs(array_agg(($1::text, json_build_object('messageId', i), q, NULL, 10, NULL, NULL, NULL)::graphile_worker.job_spec ORDER BY n))
         FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS u(i, q, n)`,
        [HANDLE_MESSAGE, inserted.map((r) => r.id), inserted.map((r) => conversationQueue(r.conversationId))],
      );
    }
  }
  for (const { accountId, status } of statuses) {
    // A report never moves a message backwards (read stays read when a late "delivered" arrives); "failed" always wins.
    await client.query(
      `UPDATE "Message" SET status = $3, error = COALESCE($4::jsonb, error), "updatedAt" = now()
       WHERE "channelAccountId" = $1 AND direction = 'out' AND "platformMessageId" = $2
         AND ($3 = 'failed' OR array_position(ARRAY['pending','sent','delivered','read'], status) < array_position(ARRAY['pending','sent','delivered','read'], $3))`,
      [accountId, status.platformMessageId, status.state, status.error ? JSON.stringify(status.error) : null],
    );
  }
  await client.query("COMMIT");
}

/**
 * Durable ingest with group commit: requests arriving within a short window share one transaction
 * (one fsync), which multiplies throughput under load, while each request still gets its own
 * answer. If a shared transaction fails, its requests are written again one by one, so one bad
 * request never fails the others, and no request is acknowledged unless its own write committed.
 */
export function createIngestor(options: { connectionString: string; maxBatch?: number; windowMs?: number; poolSize?: number }): Ingestor {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 4 });
  const maxBatch = options.maxBatch ?? 200;
  const windowMs = options.windowMs ?? 1;
  let queue: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  async function write(batch: Pending[]): Promise<void> {
    const client = await pool.connect();
    try {
      await writeBatch(client, batch);
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
    timer = undefined;
    const batch = queue;
    queue = [];
    const done = flush(batch).finally(() => inFlight.delete(done));
    inFlight.add(done);
  }

  return {
    ingest(account, events) {
      if (!events.length) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ account, events, resolve, reject });
        if (queue.length >= maxBatch) {
          clearTimeout(timer);
          drain();
        } else {
          timer ??= setTimeout(drain, windowMs);
        }
      });
    },
    async close() {
      if (timer) {
        clearTimeout(timer);
        drain();
      }
      await Promise.all(inFlight);
      await pool.end();
    },
  };
}
