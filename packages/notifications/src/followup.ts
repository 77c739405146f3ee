import type { ConversationRef, InboundMessage } from "@cb/core";
import { CONVERSATION_QUEUE_PREFIX, HANDLE_MESSAGE, sendReplies } from "@cb/conversation";
import { transaction } from "@cb/db";
import { addJob, QUEUE_GATE_SHARED } from "@cb/jobs";
import { withinPlatformRules, type NotifyDeps, type Outcome } from "./deliver.ts";

/** A fulfillment's follow-up: a text to send, or an event that triggers the intent listing it. */
export type FollowupContent = { text: string } | { event: string; parameters?: Record<string, unknown> };

const LOAD = `
SELECT c.id, c."tenantId", c."channelAccountId", c."externalId", c."lastInboundAt", c.mode, a.channel, a.enabled,
  (SELECT i.content->'conversation' FROM "Message" i WHERE i."conversationId" = c.id AND i.direction = 'in'
   ORDER BY i."createdAt" DESC LIMIT 1) AS ref,
  (SELECT k."optedOutAt" FROM "ContactIdentity" ci JOIN "Contact" k ON k.id = ci."contactId"
   WHERE ci."channelAccountId" = c."channelAccountId" AND ci."externalId" = c."externalId") AS "optedOutAt"
FROM "Conversation" c JOIN "ChannelAccount" a ON a.id = c."channelAccountId" WHERE c.id = $1::uuid`;

// The event goes in as an inbound message of the conversation, in line behind what the customer
// already sent (its arrival from the same sequence as theirs) and answered by the turn in the
// conversation's queue, so the intent's backend, contexts and order are those of any message.
const STORE_EVENT = `
WITH gate AS MATERIALIZED (SELECT ${QUEUE_GATE_SHARED}), msg AS (
  INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", content, status, arrival, "updatedAt")
  SELECT gen_random_uuid(), $1::uuid, $2::uuid, $3::uuid, 'in', $4, $5::jsonb, 'received', nextval('"Message_arrival_seq"') * 1048576, now()
  FROM gate
  ON CONFLICT ("channelAccountId", direction, "dedupeKey") DO NOTHING
  RETURNING id
)
SELECT id FROM msg UNION ALL SELECT id FROM "Message" WHERE "channelAccountId" = $2::uuid AND direction = 'in' AND "dedupeKey" = $4`;

/**
 * Sends a follow-up into its conversation: a text under the platform's rules as they stand now
 * (WhatsApp and Messenger refuse free text 24 hours after the customer's last message: skipped with
 * the reason), or an event as a message of the conversation, answered by a turn like any other.
 * Nothing while the customer has opted out, nor an event while an agent has the conversation.
 */
export async function sendFollowup(
  deps: NotifyDeps,
  row: { id: string; tenantId: string; conversationId: string | null },
  content: FollowupContent,
): Promise<Outcome> {
  const { rows } = await deps.pool.query(LOAD, [row.conversationId]);
  const conversation = rows[0];
  if (!conversation) return { status: "skipped", reason: "the conversation was deleted" };
  const at = { channelAccountId: conversation.channelAccountId as string };
  if (!conversation.enabled) return { status: "skipped", reason: "the channel account is disabled", ...at };
  if (conversation.optedOutAt) return { status: "skipped", reason: "the contact opted out", ...at };
  const to: ConversationRef = (conversation.ref as ConversationRef | null) ?? {
    externalId: conversation.externalId,
    type: "private",
  };
  if ("event" in content) {
    if (conversation.mode !== "bot") return { status: "skipped", reason: "the conversation is with an agent", ...at };
    const message: InboundMessage = {
      channel: conversation.channel,
      platformEventId: `followup:${row.id}`,
      conversation: to,
      sender: { externalId: conversation.externalId },
      sentAt: new Date().toISOString(),
      event: { name: content.event, parameters: content.parameters ?? {} },
    };
    const messageId = await transaction(deps.pool, async (sql) => {
      const { rows: stored } = await sql.query<{ id: string }>(STORE_EVENT, [
        row.tenantId,
        conversation.channelAccountId,
        conversation.id,
        message.platformEventId,
        JSON.stringify(message),
      ]);
      const id = stored[0]!.id;
      await addJob(
        sql,
        HANDLE_MESSAGE,
        { messageId: id },
        { queueName: `${CONVERSATION_QUEUE_PREFIX}${conversation.id}`, maxAttempts: 10, jobKey: `followup:${row.id}` },
      );
      return id;
    });
    return { status: "sent", reason: `event ${content.event} triggered in the conversation`, messageId, ...at };
  }
  const allowed = withinPlatformRules(
    conversation.channel,
    conversation.lastInboundAt as Date | null,
    deps.now?.() ?? new Date(),
    { text: content.text },
  );
  if ("refused" in allowed) return { status: "skipped", reason: allowed.refused, ...at };
  const [result] = await sendReplies(
    deps.pool,
    await deps.getSender(conversation.channelAccountId),
    { tenantId: row.tenantId, channelAccountId: conversation.channelAccountId, conversationId: conversation.id, to },
    [allowed.reply],
    { key: `notification:${row.id}`, ...(allowed.messageTag ? { context: { messageTag: allowed.messageTag } } : {}) },
  );
  return {
    status: result?.status === "sent" ? "sent" : "failed",
    ...at,
    ...(result ? { messageId: result.id } : {}),
    ...(result?.status === "failed" ? { reason: JSON.stringify(result.error) } : {}),
  };
}
