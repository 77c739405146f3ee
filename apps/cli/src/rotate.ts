import type { Db } from "@cb/db";
import type { Sealer } from "@cb/secrets";

/**
 * Re-seals every stored credential that was sealed with an older key, so the old key can leave
 * SECRETS_KEYS afterwards. Safe to run while the system serves: each row is rewritten only if it
 * has not changed since it was read.
 */
export async function rotateSecrets(
  db: Db,
  sealer: Sealer,
): Promise<{ channelAccounts: number; fulfillmentEndpoints: number; eventSubscriptions: number; tenants: number }> {
  let channelAccounts = 0;
  for (const row of await db.channelAccount.findMany({ select: { id: true, secrets: true } })) {
    if (!sealer.isStale(row.secrets)) continue;
    const { count } = await db.channelAccount.updateMany({
      where: { id: row.id, secrets: row.secrets },
      data: { secrets: sealer.seal(sealer.open(row.secrets)) },
    });
    channelAccounts += count;
  }
  let fulfillmentEndpoints = 0;
  for (const row of await db.fulfillmentEndpoint.findMany({ select: { id: true, secrets: true } })) {
    if (!row.secrets || !sealer.isStale(row.secrets)) continue;
    const { count } = await db.fulfillmentEndpoint.updateMany({
      where: { id: row.id, secrets: row.secrets },
      data: { secrets: sealer.seal(sealer.open(row.secrets)) },
    });
    fulfillmentEndpoints += count;
  }
  let eventSubscriptions = 0;
  for (const row of await db.eventSubscription.findMany({ select: { id: true, secrets: true } })) {
    if (!sealer.isStale(row.secrets)) continue;
    const { count } = await db.eventSubscription.updateMany({
      where: { id: row.id, secrets: row.secrets },
      data: { secrets: sealer.seal(sealer.open(row.secrets)) },
    });
    eventSubscriptions += count;
  }
  let tenants = 0;
  for (const row of await db.tenant.findMany({
    where: { eventsSecret: { not: null } },
    select: { id: true, eventsSecret: true },
  })) {
    if (!row.eventsSecret || !sealer.isStale(row.eventsSecret)) continue;
    const { count } = await db.tenant.updateMany({
      where: { id: row.id, eventsSecret: row.eventsSecret },
      data: { eventsSecret: sealer.seal(sealer.open(row.eventsSecret)) },
    });
    tenants += count;
  }
  return { channelAccounts, fulfillmentEndpoints, eventSubscriptions, tenants };
}
