import { prismaSql, type Db } from "@cb/db";
import { addJob } from "@cb/jobs";
import { DELIVER_EVENT } from "./emit.ts";

async function requeue(db: Db, ids: string[]): Promise<number> {
  if (!ids.length) return 0;
  await db.$transaction(async (tx) => {
    await tx.eventDelivery.updateMany({
      where: { id: { in: ids } },
      data: { status: "pending", nextAttemptAt: new Date() },
    });
    for (const id of ids)
      await addJob(
        prismaSql(tx),
        DELIVER_EVENT,
        { deliveryId: id },
        { jobKey: `delivery:${id}:replay:${Date.now()}`, maxAttempts: 3 },
      );
  });
  return ids.length;
}

/** Sends one delivery again, whatever became of it; null when the tenant has no such delivery. */
export async function replayDelivery(db: Db, tenantId: string, deliveryId: string): Promise<number | null> {
  const found = await db.eventDelivery.findFirst({ where: { id: deliveryId, tenantId }, select: { id: true } });
  return found ? requeue(db, [found.id]) : null;
}

/** Sends again every delivery to a subscription that failed or was given up since a time. */
export async function replayFailedSince(
  db: Db,
  tenantId: string,
  subscriptionId: string,
  since: Date,
): Promise<number | null> {
  const subscription = await db.eventSubscription.findFirst({
    where: { id: subscriptionId, tenantId },
    select: { id: true },
  });
  if (!subscription) return null;
  const failed = await db.eventDelivery.findMany({
    where: { subscriptionId, status: { in: ["failed", "dead"] }, createdAt: { gte: since } },
    select: { id: true },
  });
  return requeue(
    db,
    failed.map((d) => d.id),
  );
}
