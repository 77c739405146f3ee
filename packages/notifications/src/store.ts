import { prismaSql, type Db, type Prisma } from "@cb/db";
import { addJob } from "@cb/jobs";

/** One queue per order (subject): its events notify one at a time, in order. */
export const SUBJECT_QUEUE_PREFIX = "subject:";

export const NOTIFY_EVENT = "notify-event";

/** The queue of one order's notify jobs. */
export const subjectQueue = (tenantId: string, subject: string) => `${SUBJECT_QUEUE_PREFIX}${tenantId}:${subject}`;

export interface IncomingEvent {
  tenantId: string;
  /** With eventId, what identifies the event (a CloudEvent's source; "webhook" for signed events). */
  source: string;
  eventId: string;
  type: string;
  subject: string;
  occurredAt: Date;
  sequence?: bigint;
  data: Record<string, unknown>;
}

/**
 * Stores an order event and, when it is the newest its subject has seen, queues its notifications,
 * in one transaction. A duplicate (same source and event id) changes nothing; an older event (by sequence when
 * both have one, else by its own time) is kept for the record but never notified, so an older status
 * never overwrites a newer one.
 */
export async function storeEvent(db: Db, event: IncomingEvent): Promise<"stored" | "duplicate" | "stale"> {
  return db.$transaction(async (tx: Prisma.TransactionClient) => {
    const state = await tx.$queryRaw<{ lastOccurredAt: Date; lastSequence: bigint | null }[]>`
      SELECT "lastOccurredAt", "lastSequence" FROM "OrderState" WHERE "tenantId" = ${event.tenantId}::uuid AND subject = ${event.subject} FOR UPDATE`;
    const last = state[0];
    const current =
      !last ||
      (event.sequence !== undefined && last.lastSequence !== null
        ? event.sequence > last.lastSequence
        : event.occurredAt >= last.lastOccurredAt);
    const { count } = await tx.orderEvent.createMany({
      data: [
        {
          tenantId: event.tenantId,
          source: event.source,
          eventId: event.eventId,
          type: event.type,
          subject: event.subject,
          occurredAt: event.occurredAt,
          sequence: event.sequence ?? null,
          data: event.data as Prisma.InputJsonValue,
          current,
        },
      ],
      skipDuplicates: true,
    });
    if (count === 0) return "duplicate";
    if (!current) return "stale";
    const row = await tx.orderEvent.findUniqueOrThrow({
      where: {
        tenantId_source_eventId: { tenantId: event.tenantId, source: event.source, eventId: event.eventId },
      },
      select: { id: true },
    });
    await tx.orderState.upsert({
      where: { tenantId_subject: { tenantId: event.tenantId, subject: event.subject } },
      create: {
        tenantId: event.tenantId,
        subject: event.subject,
        lastOccurredAt: event.occurredAt,
        lastSequence: event.sequence ?? null,
        lastEventId: event.eventId,
      },
      update: { lastOccurredAt: event.occurredAt, lastSequence: event.sequence ?? null, lastEventId: event.eventId },
    });
    await addJob(
      prismaSql(tx),
      NOTIFY_EVENT,
      { orderEventId: row.id },
      { queueName: subjectQueue(event.tenantId, event.subject), maxAttempts: 10 },
    );
    return "stored";
  });
}
