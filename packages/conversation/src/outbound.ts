import { setTimeout as sleep } from "node:timers/promises";
import { PlatformError, type ChannelSender, type ConversationRef, type Reply, type SendContext } from "@cb/core";
import type { Db, Prisma } from "@cb/db";
import { statusLockKey } from "./ingest.ts";

export interface OutboundTarget {
  tenantId: string;
  channelAccountId: string;
  conversationId: string;
  to: ConversationRef;
}

// A platform's Retry-After is honoured in place when short; longer waits go back to the job queue.
const MAX_INLINE_WAIT_MS = 30_000;
const INLINE_ATTEMPTS = 3;

async function sendWithRetry(sender: ChannelSender, to: ConversationRef, reply: Reply, context: SendContext) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sender.send(to, reply, context);
    } catch (err) {
      const wait = err instanceof PlatformError && err.retryable ? (err.retryAfterMs ?? 500 * 2 ** attempt) : undefined;
      if (wait === undefined || wait > MAX_INLINE_WAIT_MS || attempt >= INLINE_ATTEMPTS) throw err;
      await sleep(wait);
    }
  }
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
 * (ingest.ts), so a report is either found here or applied there, never lost in between.
 */
async function recordSent(db: Db, rowId: string, channelAccountId: string, platformMessageId: string | null, raw: unknown[]): Promise<void> {
  await db.$transaction(async (tx) => {
    if (platformMessageId) await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${statusLockKey(channelAccountId, platformMessageId)}))`;
    await tx.message.update({ where: { id: rowId }, data: { status: "sent", platformMessageId, raw: raw as Prisma.InputJsonValue } });
    if (!platformMessageId) return;
    const reports = await tx.deliveryReport.findMany({ where: { channelAccountId, platformMessageId } });
    if (!reports.length) return;
    const best = reports.find((r) => r.state === "failed") ?? reports.reduce((a, b) => (RANK.indexOf(b.state) > RANK.indexOf(a.state) ? b : a));
    await tx.message.update({ where: { id: rowId }, data: { status: best.state, ...(best.error ? { error: best.error as Prisma.InputJsonValue } : {}) } });
    await tx.deliveryReport.deleteMany({ where: { id: { in: reports.map((r) => r.id) } } });
  });
}

/**
 * Sends replies once each, even when the job that sends them runs again: every reply gets an
 * outbound row keyed `<key>:<n>` before it goes out, and a row already sent or failed is skipped.
 * (A crash between the platform's acceptance and our update can still resend one message: at
 * least once, never silently lost.) Permanent platform errors are recorded on the row; retryable
 * ones propagate so the job is retried.
 */
export async function sendReplies(
  db: Db,
  sender: ChannelSender,
  target: OutboundTarget,
  replies: Reply[],
  options: { key: string; context?: SendContext },
): Promise<OutboundResult[]> {
  const results: OutboundResult[] = [];
  for (const [n, reply] of replies.entries()) {
    const dedupeKey = `${options.key}:${n}`;
    await db.message.createMany({
      data: [
        {
          tenantId: target.tenantId,
          channelAccountId: target.channelAccountId,
          conversationId: target.conversationId,
          direction: "out",
          dedupeKey,
          content: reply as unknown as Prisma.InputJsonValue,
          status: "pending",
        },
      ],
      skipDuplicates: true,
    });
    const row = await db.message.findUniqueOrThrow({
      where: { channelAccountId_direction_dedupeKey: { channelAccountId: target.channelAccountId, direction: "out", dedupeKey } },
    });
    if (row.status !== "pending") {
      results.push({ id: row.id, status: row.status === "failed" ? "failed" : "sent", platformMessageId: row.platformMessageId, error: row.error });
      continue;
    }
    let sent;
    try {
      sent = await sendWithRetry(sender, target.to, reply, options.context ?? {});
    } catch (err) {
      if (err instanceof PlatformError && err.retryable) throw err;
      // Permanent: the platform refused (4xx), or the reply cannot be rendered for this channel.
      const error =
        err instanceof PlatformError ? { platform: err.platform, code: err.code, message: err.message } : { code: "render_failed", message: (err as Error).message };
      await db.message.update({ where: { id: row.id }, data: { status: "failed", error } });
      results.push({ id: row.id, status: "failed", platformMessageId: null, error });
      continue;
    }
    const platformMessageId = sent[0]?.platformMessageId || null;
    await recordSent(db, row.id, target.channelAccountId, platformMessageId, sent.map((r) => r.raw));
    results.push({ id: row.id, status: "sent", platformMessageId, error: null });
  }
  return results;
}

