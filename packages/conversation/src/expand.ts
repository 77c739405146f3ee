import { randomUUID } from "node:crypto";
import type { DeliveryStatus, InboundEvent, InboundMessage, ReadWatermark } from "@cb/core";
import { storableJson, transaction, type Pool, type Sql } from "@cb/db";
import { addJob, QUEUE_GATE_SHARED } from "@cb/jobs";
import type pg from "pg";

export const HANDLE_MESSAGE = "handle-message";
/** The job that expands stored inbound batches (the web role stores them so under heavy load). */
export const EXPAND_INBOUND = "expand-inbound";
export const INBOUND_QUEUE = "inbound";

/**
 * graphile-worker runs lower priorities first (every other job has 0). A customer's message in a
 * conversation under way (a message either side within UNDER_WAY_WITHIN) goes before everything
 * else, and the inbox's expansion with it (it holds such messages): when the workers fall behind, a
 * burst of new conversations, a notification campaign or a backlog of event deliveries waits
 * rather than the customers already talking with the bot, whose next message only comes once they
 * have the reply. A conversation's first message (or its first after a pause) keeps priority 0:
 * answered after those, in the order stored, as every job was before. Within a conversation the
 * order is its messages' arrival whatever the job (drain.ts reads the earliest waiting message).
 */
export const UNDER_WAY_PRIORITY = -1;
/** How recent a conversation's last message must be for the conversation to count as under way. */
const UNDER_WAY_WITHIN = "30 minutes";

/** graphile-worker crontab line: a minutely expansion, for rows whose wake-up was lost with its web process. */
export const INBOUND_SWEEP = `* * * * * ${EXPAND_INBOUND} ?queue=${INBOUND_QUEUE}&jobKey=${EXPAND_INBOUND}&priority=${UNDER_WAY_PRIORITY}`;

/** Enqueues an expansion; at most one waits at a time (a running one does not count). */
export const enqueueExpansion = (sql: Sql) =>
  addJob(sql, EXPAND_INBOUND, {}, { queueName: INBOUND_QUEUE, jobKey: EXPAND_INBOUND, priority: UNDER_WAY_PRIORITY });

/**
 * Makes sure an expansion job will run after rows the caller has committed. One that has not
 * started yet will read them, so the common case under load is one indexed read; enqueueing costs
 * far more (graphile-worker's add_jobs notifies, and PostgreSQL serializes notifying commits).
 */
export async function wakeExpansion(sql: Sql): Promise<void> {
  const { rows } = await sql.query({
    name: "expansion-waiting",
    text: `SELECT 1 FROM graphile_worker.jobs WHERE key = $1 AND locked_at IS NULL`,
    values: [EXPAND_INBOUND],
  });
  if (!rows.length) await enqueueExpansion(sql);
}

/**
 * Appends inbound groups to the inbox, as one InboundBatch row, when `always` or when stored batches
 * still wait for their expansion; returns whether it did. While they wait, new messages go behind
 * them: a message written straight away could otherwise be answered before an earlier one of its
 * conversation still in the inbox. The check and the append are one statement, one round trip.
 */
export async function storeInInbox(sql: Sql, groups: InboundGroup[], always: boolean): Promise<boolean> {
  const { rows } = await sql.query<{ stored: boolean }>({
    name: "store-inbound",
    text: `WITH stored AS (
             INSERT INTO "InboundBatch" (events)
             SELECT $1::json WHERE $2::boolean OR EXISTS (SELECT 1 FROM "InboundBatch" WHERE error IS NULL)
             RETURNING id
           )
           SELECT EXISTS (SELECT 1 FROM stored) AS stored`,
    values: [JSON.stringify(groups), always],
  });
  return rows[0]!.stored;
}

/** The advisory lock key that serializes delivery reports with the sender's write of a message id. */
export const statusLockKey = (channelAccountId: string, platformMessageId: string) =>
  `delivery:${channelAccountId}:${platformMessageId}`;

/** One queue per conversation (the prefix, then its id): graphile-worker runs a queue's jobs one at a time, in order. */
export const CONVERSATION_QUEUE_PREFIX = "conversation:";

/** One channel account's events within an InboundBatch row, as the ingestor stores them. */
export interface InboundGroup {
  accountId: string;
  tenantId: string;
  events: InboundEvent[];
  /** The W3C traceparent of the webhook request (tracing on): its messages' turns join its trace. */
  traceparent?: string;
}

/** A stored row's groups, and when the row was acknowledged (its messages' createdAt; null: now). */
type StoredBatch = { groups: InboundGroup[]; receivedAt: Date | null };

// A message's arrival: its write's number (one per statement, in the order writes are made) times
// this, plus its place in the write. More messages than this never share a write (the ingestor's
// writes hold at most 500 requests, an expansion 20 inbox rows of them).
const ARRIVAL_SPAN = 1_048_576;

// Hot statements are prepared once per connection (named), sparing PostgreSQL a parse and plan per
// batch. One statement stores a batch of messages: conversations upserted (one row per conversation;
// ON CONFLICT DO UPDATE may touch a row once per statement), messages inserted (a platform's
// redelivery hits the unique (account, direction, dedupeKey) and is skipped: stored once, answered
// once; one within the same batch is dropped first, keeping the first copy, its place in line and
// its time of arrival), and one graphile-worker job per new message, in arrival order, behind the
// queue gate (@cb/jobs queues.ts), which every joined row passes before add_jobs runs. Messages of
// an account deleted since they were acknowledged are dropped, as its stored messages were.
const STORE_MESSAGES = `
WITH input AS (
  SELECT DISTINCT ON (u.account_id, u.dedupe_key) u.*, prev."lastActivityAt" > now() - interval '${UNDER_WAY_WITHIN}' AS under_way
  FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[], $9::timestamptz[], $10::timestamptz[], $11::text[])
    WITH ORDINALITY AS u(id, tenant_id, account_id, external_id, dedupe_key, platform_message_id, content, raw, sent_at, received_at, traceparent, n)
  JOIN "ChannelAccount" a ON a.id = u.account_id
  -- As it was before this statement: under way when its last message (either side) is recent.
  LEFT JOIN "Conversation" prev ON prev."channelAccountId" = u.account_id AND prev."externalId" = u.external_id
  ORDER BY u.account_id, u.dedupe_key, u.n
), conv AS (
  INSERT INTO "Conversation" (id, "tenantId", "channelAccountId", "externalId", "lastInboundAt")
  SELECT DISTINCT ON (account_id, external_id) gen_random_uuid(), tenant_id, account_id, external_id, sent_at
  FROM input ORDER BY account_id, external_id, sent_at DESC
  ON CONFLICT ("channelAccountId", "externalId") DO UPDATE
    SET "lastInboundAt" = GREATEST("Conversation"."lastInboundAt", EXCLUDED."lastInboundAt")
  RETURNING id, "channelAccountId", "externalId"
), gate AS MATERIALIZED (
  SELECT ${QUEUE_GATE_SHARED}
), write AS MATERIALIZED (
  SELECT nextval('"Message_arrival_seq"') * ${ARRIVAL_SPAN} AS base
), msg AS (
  INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", "platformMessageId", content, raw, status, arrival, traceparent, "createdAt", "updatedAt")
  SELECT i.id, i.tenant_id, i.account_id, c.id, 'in', i.dedupe_key, i.platform_message_id, i.content, i.raw, 'received', w.base + i.n, i.traceparent, COALESCE(i.received_at, now()), now()
  FROM input i CROSS JOIN write w JOIN conv c ON c."channelAccountId" = i.account_id AND c."externalId" = i.external_id
  ON CONFLICT ("channelAccountId", direction, "dedupeKey") DO NOTHING
  RETURNING id, "conversationId"
)
SELECT graphile_worker.add_jobs(array_agg(
  ('${HANDLE_MESSAGE}', json_build_object('messageId', m.id), '${CONVERSATION_QUEUE_PREFIX}' || m."conversationId", NULL, 10, NULL,
    CASE WHEN i.under_way THEN ${UNDER_WAY_PRIORITY} END, NULL)::graphile_worker.job_spec
  ORDER BY i.n))
FROM msg m JOIN input i ON i.id = m.id CROSS JOIN gate`;

// A delivery report never moves a message backwards (read stays read when a late "delivered"
// arrives); "failed" always wins. A report for a message whose platform id is not recorded yet is
// kept and applied by the sender once it is (recordSent in outbound.ts).
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

/** Applies stored batches inside the caller's transaction: messages, then delivery reports, then read watermarks. */
async function applyBatches(client: pg.PoolClient, batches: StoredBatch[]): Promise<void> {
  const messages: { group: InboundGroup; message: InboundMessage; raw: unknown; receivedAt: Date | null }[] = [];
  const statuses: { accountId: string; status: DeliveryStatus }[] = [];
  const reads: { accountId: string; read: ReadWatermark }[] = [];
  for (const { groups, receivedAt } of batches) {
    for (const group of groups) {
      for (const event of group.events) {
        if (event.type === "status") statuses.push({ accountId: group.accountId, status: event.status });
        else if (event.type === "read") reads.push({ accountId: group.accountId, read: event.read });
        else messages.push({ group, message: event.message, raw: event.raw, receivedAt });
      }
    }
  }
  if (messages.length) {
    await client.query({
      name: "store-messages",
      text: STORE_MESSAGES,
      values: [
        messages.map(() => randomUUID()),
        messages.map((m) => m.group.tenantId),
        messages.map((m) => m.group.accountId),
        messages.map((m) => m.message.conversation.externalId),
        messages.map((m) => m.message.platformEventId),
        messages.map((m) => m.message.platformMessageId ?? null),
        messages.map((m) => storableJson(m.message)),
        messages.map((m) => storableJson(m.raw ?? null)),
        messages.map((m) => new Date(m.message.sentAt)),
        messages.map((m) => m.receivedAt),
        messages.map((m) => m.group.traceparent ?? null),
      ],
    });
  }
  if (statuses.length) {
    // The same lock the sender takes while recording a message's platform id (outbound.ts), so a
    // report is either applied to the message or kept for the sender, never lost in between.
    const keys = [
      ...new Set(statuses.map(({ accountId, status }) => statusLockKey(accountId, status.platformMessageId))),
    ].sort();
    await client.query("SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest($1::text[]) AS k ORDER BY k", [keys]);
  }
  for (const { accountId, status } of statuses) {
    await client.query({
      name: "store-status",
      text: STORE_STATUS,
      values: [accountId, status.platformMessageId, status.state, status.error ? storableJson(status.error) : null],
    });
  }
  for (const { accountId, read } of reads) {
    await client.query({
      name: "store-read",
      text: STORE_READ,
      values: [accountId, read.conversationExternalId, new Date(read.upTo)],
    });
  }
}

/**
 * Stores events straight away, as their expansion would (the ingestor's way under light load):
 * messages alone in one statement, atomic by itself; with delivery reports or read watermarks, in
 * a transaction.
 */
export async function storeEvents(pool: Pool, groups: InboundGroup[]): Promise<void> {
  const batches = [{ groups, receivedAt: null }];
  if (groups.some((g) => g.events.some((e) => e.type !== "message")))
    return transaction(pool, (client) => applyBatches(client, batches));
  const client = await pool.connect();
  try {
    await applyBatches(client, batches);
  } finally {
    client.release();
  }
}

/** Expands the given stored batches (all, or `ids` only) in one transaction and deletes them; returns how many it took. */
async function expandRows(pool: Pool, limit: number, ids?: string[]): Promise<string[]> {
  return transaction(pool, async (client) => {
    // Expanders (every worker's job, the sweep) take turns, so that rows expand in the order
    // stored and none reads rows another is expanding. Rows set aside with an error are skipped.
    await client.query({ name: "inbound-lock", text: `SELECT pg_advisory_xact_lock(hashtext('${EXPAND_INBOUND}'))` });
    const { rows } = await client.query<{ id: string; events: InboundGroup[]; receivedAt: Date }>({
      name: ids ? "inbound-rows" : "inbound-next",
      text: ids
        ? `SELECT id, events, "receivedAt" FROM "InboundBatch" WHERE id = ANY($1::bigint[]) AND error IS NULL ORDER BY id`
        : `SELECT id, events, "receivedAt" FROM "InboundBatch" WHERE error IS NULL ORDER BY id LIMIT $1`,
      values: [ids ?? limit],
    });
    if (rows.length) {
      await applyBatches(
        client,
        rows.map((row) => ({ groups: row.events, receivedAt: row.receivedAt })),
      );
      await client.query({
        name: "inbound-done",
        text: `DELETE FROM "InboundBatch" WHERE id = ANY($1::bigint[])`,
        values: [rows.map((r) => r.id)],
      });
    }
    return rows.map((r) => r.id);
  });
}

// Data exceptions (22…) and constraint violations (23…) come from the row itself and would recur
// on every retry; so does a TypeError from a row not shaped like InboundGroup[]. Anything else (a
// lost connection, a restarting server) is retried by the job.
const isRowError = (err: unknown) =>
  err instanceof TypeError || /^2[23]/.test(String((err as { code?: unknown }).code));

/**
 * Expands stored inbound batches, oldest first, a few rows per transaction, until none are left
 * or `budgetMs` has passed (then `more` is true and the caller schedules another round). When a
 * transaction fails because of what a row holds, its rows are expanded one by one and the row
 * at fault is set aside with its error (kept, not lost), so one bad row never holds up the rest.
 */
export async function expandInbound(
  pool: Pool,
  options: { rowsPerTransaction?: number; budgetMs?: number } = {},
): Promise<ExpandResult> {
  const limit = options.rowsPerTransaction ?? 20;
  const until = performance.now() + (options.budgetMs ?? 1000);
  const result: ExpandResult = { rows: 0, setAside: [], more: false };
  for (;;) {
    let taken: number;
    try {
      taken = (await expandRows(pool, limit)).length;
    } catch (err) {
      if (!isRowError(err)) throw err;
      taken = await expandOneByOne(pool, limit, result.setAside);
    }
    result.rows += taken;
    if (taken < limit) return result;
    if (performance.now() > until) return { ...result, more: true };
  }
}

export interface ExpandResult {
  /** Rows taken, set-aside ones included. */
  rows: number;
  /** Rows that failed on their own, with why. */
  setAside: { id: string; error: string }[];
  /** Rows were left when the time budget ran out. */
  more: boolean;
}

async function expandOneByOne(pool: Pool, limit: number, setAside: ExpandResult["setAside"]): Promise<number> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM "InboundBatch" WHERE error IS NULL ORDER BY id LIMIT $1`,
    [limit],
  );
  for (const { id } of rows) {
    try {
      await expandRows(pool, 1, [id]);
    } catch (err) {
      if (!isRowError(err)) throw err;
      const error = (err as Error).message;
      await pool.query(`UPDATE "InboundBatch" SET error = $2 WHERE id = $1`, [id, error]);
      setAside.push({ id, error });
    }
  }
  return rows.length;
}
