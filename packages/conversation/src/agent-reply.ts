import { driverOf } from "@cb/channels";
import { agentReplyVerdict, type ConversationRef, type Reply } from "@cb/core";
import type { Pool, Sql } from "@cb/db";
import { emitEvents } from "@cb/event-webhooks";
import { addJob } from "@cb/jobs";
import type { AccountDirectory } from "./accounts.ts";
import { CONVERSATION_QUEUE_PREFIX } from "./expand.ts";
import { sendReplies } from "./outbound.ts";

/** The job that sends an agent's reply; payload { messageId }. */
export const SEND_AGENT_MESSAGE = "send-agent-message";

export type AgentReplyRule = { ok: true; messageTag?: string } | { ok: false; reason: string };

/**
 * The channel's rules for a person's reply (its driver's messaging policy), by the time since the
 * customer's last message: WhatsApp takes only an approved template after 24 hours; Messenger lets
 * a human agent answer for 7 days, tagged HUMAN_AGENT; templates exist on WhatsApp only.
 */
export function agentReplyRule(channel: string, lastInboundAt: Date | null, reply: Reply, now: Date): AgentReplyRule {
  const driver = driverOf(channel);
  if (!driver) return { ok: false, reason: `no channel named ${channel} is installed` };
  const since = lastInboundAt ? now.getTime() - lastInboundAt.getTime() : Number.POSITIVE_INFINITY;
  const verdict = agentReplyVerdict(driver, since, reply);
  if (!verdict.ok) return verdict;
  return verdict.messageTag ? { ok: true, messageTag: verdict.messageTag } : { ok: true };
}

/**
 * Stores an agent's reply as a pending outbound message and queues its sending in the
 * conversation's queue (after any turn already queued there), in the caller's transaction. The
 * same key again finds the message stored the first time. Returns the message's id.
 */
export async function queueAgentMessage(
  sql: Sql,
  input: { tenantId: string; channelAccountId: string; conversationId: string; key: string; reply: Reply },
): Promise<string> {
  const dedupeKey = `agent:${input.key}:0`;
  const { rows } = await sql.query<{ id: string }>({
    text: `WITH created AS (
             INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", content, status, "updatedAt")
             VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3::uuid, 'out', $4, $5::jsonb, 'pending', now())
             ON CONFLICT ("channelAccountId", direction, "dedupeKey") DO NOTHING RETURNING id)
           SELECT id FROM created UNION ALL
           SELECT id FROM "Message" WHERE "channelAccountId" = $2::uuid AND direction = 'out' AND "dedupeKey" = $4`,
    values: [input.tenantId, input.channelAccountId, input.conversationId, dedupeKey, JSON.stringify(input.reply)],
  });
  const id = rows[0]?.id;
  if (!id) throw new Error(`agent message ${dedupeKey} is being written concurrently`);
  await sql.query({
    text: `UPDATE "Conversation" SET "handoffActivityAt" = now() WHERE id = $1::uuid AND mode <> 'bot'`,
    values: [input.conversationId],
  });
  await addJob(
    sql,
    SEND_AGENT_MESSAGE,
    { messageId: id },
    { queueName: `${CONVERSATION_QUEUE_PREFIX}${input.conversationId}`, jobKey: `${SEND_AGENT_MESSAGE}:${id}` },
  );
  return id;
}

const LOAD = `
SELECT m.id, m."tenantId", m."channelAccountId", m."conversationId", m."dedupeKey", m.content, m.status,
  c."externalId", c."lastInboundAt", a.channel,
  (SELECT i.content->'conversation' FROM "Message" i WHERE i."conversationId" = c.id AND i.direction = 'in'
   ORDER BY i."createdAt" DESC LIMIT 1) AS ref
FROM "Message" m JOIN "Conversation" c ON c.id = m."conversationId" JOIN "ChannelAccount" a ON a.id = m."channelAccountId"
WHERE m.id = $1::uuid AND m.direction = 'out'`;

/**
 * The job: sends a queued agent reply the way the bot's replies go (sendReplies: the channel's
 * rendering, rate limits and retries), under the platform's rules as they stand when it is sent,
 * and announces it (message.sent / message.failed with `agent: true`). Run again after a crash,
 * the message is not sent twice (its outbound row), though its event may be.
 */
export async function sendAgentMessage(
  deps: { pool: Pool; accounts: AccountDirectory; now?: () => Date },
  messageId: string,
): Promise<void> {
  const { rows } = await deps.pool.query({ name: "agent-message-load", text: LOAD, values: [messageId] });
  const row = rows[0];
  if (!row) return;
  const reply = row.content as Reply;
  const base = {
    conversationId: row.conversationId,
    channelAccountId: row.channelAccountId,
    channel: row.channel,
    messageId: row.id,
    reply,
    agent: true,
  };
  const rule = agentReplyRule(row.channel, row.lastInboundAt, reply, deps.now?.() ?? new Date());
  if (!rule.ok) {
    const error = { code: "platform_rule", message: rule.reason };
    await deps.pool.query({
      text: `UPDATE "Message" SET status = 'failed', error = $2::jsonb, "updatedAt" = now() WHERE id = $1::uuid AND status = 'pending'`,
      values: [row.id, JSON.stringify(error)],
    });
    await emitEvents(deps.pool, row.tenantId, [
      { type: "message.failed", data: { ...base, platformMessageId: null, error } },
    ]);
    return;
  }
  const to: ConversationRef = (row.ref as ConversationRef | null) ?? { externalId: row.externalId, type: "private" };
  const sender = await deps.accounts.sender(row.channelAccountId);
  const [result] = await sendReplies(
    deps.pool,
    sender,
    { tenantId: row.tenantId, channelAccountId: row.channelAccountId, conversationId: row.conversationId, to },
    [reply],
    {
      key: (row.dedupeKey as string).replace(/:0$/, ""),
      ...(rule.messageTag ? { context: { messageTag: rule.messageTag } } : {}),
    },
  );
  if (!result) return;
  await emitEvents(deps.pool, row.tenantId, [
    {
      type: result.status === "sent" ? "message.sent" : "message.failed",
      data: {
        ...base,
        platformMessageId: result.platformMessageId,
        ...(result.error ? { error: result.error } : {}),
      },
    },
  ]);
}
