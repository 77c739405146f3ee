import { PlatformError, type ChannelSender, type ConversationRef, type Reply, type SendContext } from "@cb/core";
import { transaction, type Pool } from "@cb/db";
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

// The outbound row for a reply: created pending, or the one an earlier run of the job created.
const CLAIM_REPLY = `
WITH created AS (
  INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", content, status, "updatedAt")
  VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3::uuid, 'out', $4, $5::jsonb, 'pending', now())
  ON CONFLICT ("channelAccountId", direction, "dedupeKey") DO NOTHING
  RETURNING id, status, "platformMessageId", error
)
SELECT * FROM created
UNION ALL
SELECT id, status, "platformMessageId", error FROM "Message"
WHERE "channelAccountId" = $2::uuid AND direction = 'out' AND "dedupeKey" = $4 AND NOT EXISTS (SELECT 1 FROM created)`;

/**
 * Sends replies once each, even when the job that sends them runs again: every reply gets an
 * outbound row keyed `<key>:<n>` before it goes out, and a row already sent or failed is skipped.
 * (A crash between the platform's acceptance and our update can still resend one message: at
 * least once, never silently lost.) Permanent platform errors are recorded on the row; retryable
 * ones propagate so the job is retried.
 */
export async function sendReplies(
  pool: Pool,
  sender: ChannelSender,
  target: OutboundTarget,
  replies: Reply[],
  options: { key: string; context?: SendContext },
): Promise<OutboundResult[]> {
  const results: OutboundResult[] = [];
  for (const [n, reply] of replies.entries()) {
    const {
      rows: [row],
    } = await pool.query<{ id: string; status: string; platformMessageId: string | null; error: unknown }>({
      name: "claim-reply",
      text: CLAIM_REPLY,
      values: [
        target.tenantId,
        target.channelAccountId,
        target.conversationId,
        `${options.key}:${n}`,
        JSON.stringify(reply),
      ],
    });
    // Only a concurrent run of the same job, committing between our insert and read, leaves none.
    if (!row) throw new Error(`outbound message ${options.key}:${n} is being written by another run; retrying`);
    if (row.status !== "pending") {
      results.push({
        id: row.id,
        status: row.status === "failed" ? "failed" : "sent",
        platformMessageId: row.platformMessageId,
        error: row.error,
      });
      continue;
    }
    let sent: Awaited<ReturnType<typeof sendWithRetry>>;
    try {
      sent = await sendWithRetry(sender, target.to, reply, options.context ?? {});
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
      results.push({ id: row.id, status: "failed", platformMessageId: null, error });
      continue;
    }
    const platformMessageId = sent[0]?.platformMessageId || null;
    await recordSent(
      pool,
      sender,
      row.id,
      target.channelAccountId,
      platformMessageId,
      sent.map((r) => r.raw),
    );
    results.push({ id: row.id, status: "sent", platformMessageId, error: null });
  }
  return results;
}
