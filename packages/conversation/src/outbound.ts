import { PlatformError, type ChannelSender, type ConversationRef, type Reply, type SendContext } from "@cb/core";
import { transaction, type Pool, type Sql } from "@cb/db";
import pRetry from "p-retry";
import { statusLockKey } from "./expand.ts";
import { sendWithRetry } from "./send-retry.ts";

export interface OutboundTarget {
  tenantId: string;
  channelAccountId: string;
  conversationId: string;
  to: ConversationRef;
}

export interface OutboundResult {
  id: string;
  /** The reply as stored (and sent). */
  reply: Reply;
  status: "sent" | "failed";
  platformMessageId: string | null;
  error: unknown;
}

const RANK = ["pending", "sent", "delivered", "read"];

/**
 * Records that a message was sent, with its platform id, and applies any delivery reports that
 * arrived before that id was known. Under the same advisory lock as the ingest of reports
 * (expand.ts), so a report is either found here or applied there, never lost in between. Where no
 * report can come (no id, or a platform that sends none), the update alone: one statement, not five.
 */
async function recordSent(
  pool: Pool,
  sender: ChannelSender,
  rowId: string,
  channelAccountId: string,
  platformMessageId: string | null,
  raw: unknown[],
): Promise<void> {
  const update = {
    name: "sent-update",
    text: `UPDATE "Message" SET status = 'sent', "platformMessageId" = $2, raw = $3::jsonb, "updatedAt" = now() WHERE id = $1::uuid`,
    values: [rowId, platformMessageId, JSON.stringify(raw)],
  };
  if (!platformMessageId || sender.reportsDelivery === false) {
    await pool.query(update);
    return;
  }
  await transaction(pool, async (sql) => {
    await sql.query({
      name: "sent-lock",
      text: `SELECT pg_advisory_xact_lock(hashtext($1))`,
      values: [statusLockKey(channelAccountId, platformMessageId)],
    });
    await sql.query(update);
    const { rows: reports } = await sql.query<{ id: string; state: string; error: unknown }>({
      name: "sent-early-reports",
      text: `DELETE FROM "DeliveryReport" WHERE "channelAccountId" = $1::uuid AND "platformMessageId" = $2 RETURNING id, state, error`,
      values: [channelAccountId, platformMessageId],
    });
    if (!reports.length) return;
    const best =
      reports.find((r) => r.state === "failed") ??
      reports.reduce((a, b) => (RANK.indexOf(b.state) > RANK.indexOf(a.state) ? b : a));
    await sql.query(
      `UPDATE "Message" SET status = $2, error = COALESCE($3::jsonb, error), "updatedAt" = now() WHERE id = $1::uuid`,
      [rowId, best.state, best.error ? JSON.stringify(best.error) : null],
    );
  });
}

// The outbound rows of a list of replies, `<key>:<n>`, created pending; rows an earlier run created
// are left as they are (a concurrent run's insert is waited for by the unique key). Parameters: the
// tenant, account, conversation, key and the replies (savePlan puts them at other positions).
export const INSERT_REPLIES_FROM = (
  tenant: string,
  account: string,
  conversation: string,
  key: string,
  replies: string,
) => `
INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", content, status, "updatedAt")
SELECT gen_random_uuid(), ${tenant}::uuid, ${account}::uuid, ${conversation}::uuid, 'out', ${key} || ':' || (n - 1), content, 'pending', now()
FROM unnest(${replies}::jsonb[]) WITH ORDINALITY AS r(content, n)`;

const INSERT_REPLIES = `${INSERT_REPLIES_FROM("$1", "$2", "$3", "$4", "$5")}
ON CONFLICT ("channelAccountId", direction, "dedupeKey") DO NOTHING`;

/** The parameters of INSERT_REPLIES_FROM, in its order. */
export const replyValues = (target: OutboundTarget, replies: Reply[], key: string) => [
  target.tenantId,
  target.channelAccountId,
  target.conversationId,
  key,
  replies.map((r) => JSON.stringify(r)),
];

/** Stores replies as pending outbound rows keyed `<key>:<n>`, inside the caller's transaction if it has one. */
export async function storeReplies(sql: Sql, target: OutboundTarget, replies: Reply[], key: string): Promise<void> {
  await sql.query({ name: "store-replies", text: INSERT_REPLIES, values: replyValues(target, replies, key) });
}

export interface StoredReply {
  id: string;
  status: string;
  content: Reply;
  platformMessageId: string | null;
  error: unknown;
  dedupeKey: string;
}

export const STORED_REPLY_COLUMNS = `id, status, content, "platformMessageId", error, "dedupeKey"`;

// A send the platform answered is recorded whatever the database is going through: retried (the
// record, never the send) until it answers, within about a job's time limit; past that the job
// fails and its retry may send once more, the only way a reply goes out twice.
const RECORD_RETRY = { retries: Number.POSITIVE_INFINITY, minTimeout: 100, maxTimeout: 5_000, maxRetryTime: 60_000 };
const untilRecorded = (record: () => Promise<void>) => pRetry(record, RECORD_RETRY);

const READ_REPLIES = `SELECT ${STORED_REPLY_COLUMNS} FROM "Message"
  WHERE "channelAccountId" = $1::uuid AND direction = 'out' AND "dedupeKey" = ANY($2::text[])`;

/** The outbound rows keyed `<key>:0` … `<key>:<count - 1>`, as stored. */
async function readReplies(pool: Pool, target: OutboundTarget, keys: string[]) {
  const { rows } = await pool.query<StoredReply>({
    name: "stored-replies",
    text: READ_REPLIES,
    values: [target.channelAccountId, keys],
  });
  return rows;
}

const keysOf = (key: string, count: number) => Array.from({ length: count }, (_, n) => `${key}:${n}`);

/**
 * Sends the pending ones of the `count` outbound rows keyed `<key>:<n>` (stored by storeReplies), in
 * order, and records each; rows already sent or failed are reported as they are. Permanent platform
 * errors are recorded on the row; retryable ones propagate so the job is retried, and its retry sends
 * what is still pending.
 */
export async function sendStoredReplies(
  pool: Pool,
  sender: ChannelSender,
  target: OutboundTarget,
  options: {
    key: string;
    count: number;
    context?: SendContext;
    /** The rows as the caller just stored them (savePlan), so that they need not be read again. */
    stored?: StoredReply[];
  },
): Promise<OutboundResult[]> {
  const keys = keysOf(options.key, options.count);
  // The rows as the caller just stored them, or else as they are stored.
  const rows =
    options.stored && options.stored.length === keys.length ? options.stored : await readReplies(pool, target, keys);
  return sendRows(pool, sender, target, keys, rows, options.context);
}

async function sendRows(
  pool: Pool,
  sender: ChannelSender,
  target: OutboundTarget,
  keys: string[],
  rows: StoredReply[],
  context: SendContext = {},
): Promise<OutboundResult[]> {
  const byKey = new Map(rows.map((r) => [r.dedupeKey, r]));
  const results: OutboundResult[] = [];
  for (const key of keys) {
    const row = byKey.get(key);
    if (!row) throw new Error(`outbound message ${key} is not stored`);
    results.push(await sendStored(pool, sender, target, row, context));
  }
  return results;
}

async function sendStored(
  pool: Pool,
  sender: ChannelSender,
  target: OutboundTarget,
  row: StoredReply,
  context: SendContext,
): Promise<OutboundResult> {
  if (row.status !== "pending")
    return {
      id: row.id,
      reply: row.content,
      status: row.status === "failed" ? "failed" : "sent",
      platformMessageId: row.platformMessageId,
      error: row.error,
    };
  let sent: Awaited<ReturnType<typeof sendWithRetry>>;
  try {
    sent = await sendWithRetry(sender, target.to, row.content, context);
  } catch (err) {
    if (err instanceof PlatformError && err.retryable) throw err;
    // Permanent: the platform refused (4xx), or the reply cannot be rendered for this channel.
    const error =
      err instanceof PlatformError
        ? { platform: err.platform, code: err.code, message: err.message }
        : { code: "render_failed", message: (err as Error).message };
    await pool.query(
      `UPDATE "Message" SET status = 'failed', error = $2::jsonb, "updatedAt" = now() WHERE id = $1::uuid`,
      [row.id, JSON.stringify(error)],
    );
    return { id: row.id, reply: row.content, status: "failed", platformMessageId: null, error };
  }
  const platformMessageId = sent[0]?.platformMessageId || null;
  await untilRecorded(() =>
    recordSent(
      pool,
      sender,
      row.id,
      target.channelAccountId,
      platformMessageId,
      sent.map((r) => r.raw),
    ),
  );
  return { id: row.id, reply: row.content, status: "sent", platformMessageId, error: null };
}

// storeReplies and the rows' reading in one statement: what this statement inserted comes from
// RETURNING, what an earlier run stored from the table (the statement's own inserts are not visible
// to its SELECT, so nothing comes twice).
const STORE_AND_READ = `
WITH stored AS (${INSERT_REPLIES}
  RETURNING ${STORED_REPLY_COLUMNS}
)
SELECT * FROM stored
UNION ALL
SELECT ${STORED_REPLY_COLUMNS} FROM "Message"
WHERE "channelAccountId" = $2::uuid AND direction = 'out'
  AND "dedupeKey" = ANY(ARRAY(SELECT $4 || ':' || (n - 1) FROM generate_series(1, cardinality($5::jsonb[])) n))`;

/**
 * Sends replies once each, even when the job that sends them runs again: all of them are stored as
 * outbound rows keyed `<key>:<n>` in one statement before the first goes out, and a row already sent
 * or failed is skipped. (A process killed between the platform's acceptance and our record can still
 * resend one message: the platforms take no idempotency key.)
 */
export async function sendReplies(
  pool: Pool,
  sender: ChannelSender,
  target: OutboundTarget,
  replies: Reply[],
  options: { key: string; context?: SendContext },
): Promise<OutboundResult[]> {
  const keys = keysOf(options.key, replies.length);
  let { rows } = await pool.query<StoredReply>({
    name: "store-and-read-replies",
    text: STORE_AND_READ,
    values: replyValues(target, replies, options.key),
  });
  // A concurrent run's rows, committed after this statement began, were waited for but not seen.
  if (rows.length < keys.length) rows = await readReplies(pool, target, keys);
  return sendRows(pool, sender, target, keys, rows, options.context);
}
