import { Prisma, prismaSql, type Db } from "@cb/db";
import { addJob } from "@cb/jobs";
import { DELIVER_EVENT } from "./emit.ts";

/**
 * Puts deliveries back to pending and queues one attempt each, in one transaction. Only those not
 * pending already are taken (the conditional update decides, under the row lock), so replaying
 * again before the first replay's attempt ran sends nothing twice. Returns how many were queued.
 */
async function requeue(db: Db, where: Prisma.Sql): Promise<number> {
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ id: string }[]>`
      UPDATE "EventDelivery" SET status = 'pending', "nextAttemptAt" = now(), "updatedAt" = now()
      WHERE status <> 'pending' AND ${where}
      RETURNING id`;
    for (const { id } of rows)
      await addJob(
        prismaSql(tx),
        DELIVER_EVENT,
        { deliveryId: id },
        { jobKey: `delivery:${id}:replay:${Date.now()}`, maxAttempts: 3 },
      );
    return rows.length;
  });
}

/**
 * Sends one delivery again, whatever became of it (0 while it is pending: an attempt is already on
 * its way); null when the tenant has no such delivery.
 */
export async function replayDelivery(db: Db, tenantId: string, deliveryId: string): Promise<number | null> {
  const found = await db.eventDelivery.findFirst({ where: { id: deliveryId, tenantId }, select: { id: true } });
  return found ? requeue(db, Prisma.sql`id = ${found.id}::uuid`) : null;
}

/** Sends again every delivery to a subscription that failed or was given up, made within [from, to]. */
export async function replayFailed(
  db: Db,
  tenantId: string,
  subscriptionId: string,
  range: { from: Date; to?: Date | undefined },
): Promise<number | null> {
  const subscription = await db.eventSubscription.findFirst({
    where: { id: subscriptionId, tenantId },
    select: { id: true },
  });
  if (!subscription) return null;
  const to = range.to ?? new Date("9999-12-31T00:00:00Z");
  return requeue(
    db,
    Prisma.sql`"subscriptionId" = ${subscription.id}::uuid AND status IN ('failed', 'dead')
      AND "createdAt" >= ${range.from} AND "createdAt" <= ${to}`,
  );
}
