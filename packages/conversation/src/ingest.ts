import { randomUUID } from "node:crypto";
import type { ChannelAccount, DeliveryStatus, InboundEvent, InboundMessage } from "@cb/core";
import type { Db, Prisma } from "@cb/db";
import { addJob } from "@cb/jobs";

export const HANDLE_MESSAGE = "handle-message";

/** One queue per conversation: graphile-worker runs a queue's jobs one at a time, in order. */
export const conversationQueue = (conversationId: string) => `conversation:${conversationId}`;

type Tx = Prisma.TransactionClient;

async function storeMessage(tx: Tx, account: ChannelAccount, message: InboundMessage, raw: unknown): Promise<void> {
  const sentAt = new Date(message.sentAt);
  const conversation = await tx.conversation.upsert({
    where: { channelAccountId_externalId: { channelAccountId: account.id, externalId: message.conversation.externalId } },
    create: { tenantId: account.tenantId, channelAccountId: account.id, externalId: message.conversation.externalId, lastInboundAt: sentAt },
    update: { lastInboundAt: sentAt },
  });
  const id = randomUUID();
  // The unique (account, direction, dedupeKey) makes a platform's redelivery a no-op: stored once, answered once.
  const { count } = await tx.message.createMany({
    data: [
      {
        id,
        tenantId: account.tenantId,
        channelAccountId: account.id,
        conversationId: conversation.id,
        direction: "in",
        dedupeKey: message.platformEventId,
        platformMessageId: message.platformMessageId ?? null,
        content: message as unknown as Prisma.InputJsonValue,
        raw: raw as Prisma.InputJsonValue,
        status: "received",
      },
    ],
    skipDuplicates: true,
  });
  if (count === 1) {
    await addJob(tx, HANDLE_MESSAGE, { messageId: id }, { queueName: conversationQueue(conversation.id), maxAttempts: 10 });
  }
}

/**
 * Applies a platform's delivery report to the outbound message it concerns. A report never moves a
 * message backwards (read stays read when a late "delivered" arrives); "failed" always wins.
 */
async function storeStatus(tx: Tx, account: ChannelAccount, status: DeliveryStatus): Promise<void> {
  const error = status.error ? JSON.stringify(status.error) : null;
  await tx.$executeRaw`
    UPDATE "Message" SET status = ${status.state}, error = COALESCE(${error}::jsonb, error), "updatedAt" = now()
    WHERE "channelAccountId" = ${account.id}::uuid AND direction = 'out' AND "platformMessageId" = ${status.platformMessageId}
      AND (${status.state} = 'failed' OR
           array_position(ARRAY['pending','sent','delivered','read'], status) < array_position(ARRAY['pending','sent','delivered','read'], ${status.state}))`;
}

/**
 * Stores verified inbound events and enqueues their processing in ONE transaction, so a message is
 * never stored without its job nor a job left without its message. Resolves once committed: only
 * then may the webhook be acknowledged.
 */
export async function ingestEvents(db: Db, account: ChannelAccount, events: InboundEvent[]): Promise<void> {
  await db.$transaction(async (tx) => {
    for (const event of events) {
      if (event.type === "message") await storeMessage(tx, account, event.message, event.raw);
      else await storeStatus(tx, account, event.status);
    }
  });
}
