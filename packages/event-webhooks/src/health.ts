import { prismaSql, type Db } from "@cb/db";
import { emitEvent } from "./emit.ts";

export const CHECK_WEBHOOK_HEALTH = "check-webhook-health";
/** Once a minute, one job across every worker (graphile-worker's crontab keeps one per tick). */
export const WEBHOOK_HEALTH_CRONTAB = `* * * * * ${CHECK_WEBHOOK_HEALTH} ?jobKey=${CHECK_WEBHOOK_HEALTH}&max=1`;
/** The span each check looks back over. */
export const HEALTH_WINDOW_MINUTES = 15;

/** Tenant.healthSettings, with the defaults applied. */
export interface HealthSettings {
  /** Degraded at or above this share of failed attempts (0..1). */
  failureRate: number;
  /** Fewer attempts than this in the window never make an endpoint degraded. */
  minAttempts: number;
}
export const HEALTH_DEFAULTS: HealthSettings = { failureRate: 0.5, minAttempts: 10 };

interface Observed {
  kind: "fulfillment" | "subscription";
  id: string;
  tenantId: string;
  name: string | null;
  url: string;
  degraded: boolean;
  total: number;
  failed: number;
  failureRate: number;
  minAttempts: number;
}

// Each endpoint's and subscription's attempts over the window, read through the (endpointId,
// createdAt) and (subscriptionId, at) indexes, with its tenant's thresholds.
const OBSERVE = `
WITH settings AS (
  SELECT id, coalesce(("healthSettings"->>'failureRate')::float8, $2) AS rate,
    coalesce(("healthSettings"->>'minAttempts')::int, $3) AS min FROM "Tenant"
)
SELECT 'fulfillment' AS kind, e.id, e."tenantId", e.name, e.url, e."degradedSince" IS NOT NULL AS degraded,
  w.total, w.failed, s.rate AS "failureRate", s.min AS "minAttempts"
FROM "FulfillmentEndpoint" e JOIN settings s ON s.id = e."tenantId"
CROSS JOIN LATERAL (
  SELECT count(*)::int AS total, count(*) FILTER (WHERE NOT c.ok)::int AS failed FROM "FulfillmentCall" c
  WHERE c."endpointId" = e.id AND c."createdAt" > $1::timestamptz - make_interval(mins => $4) AND c."createdAt" <= $1
) w
UNION ALL
SELECT 'subscription', e.id, e."tenantId", NULL, e.url, e."degradedSince" IS NOT NULL,
  w.total, w.failed, s.rate, s.min
FROM "EventSubscription" e JOIN settings s ON s.id = e."tenantId"
CROSS JOIN LATERAL (
  SELECT count(*)::int AS total, count(*) FILTER (WHERE a.error IS NOT NULL)::int AS failed FROM "DeliveryAttempt" a
  WHERE a."subscriptionId" = e.id AND a.at > $1::timestamptz - make_interval(mins => $4) AND a.at <= $1
) w`;

/**
 * Degraded: at least minAttempts in the window and a failure rate at or above the threshold.
 * Recovered: some attempts in the window, and a failure rate under it (a window without attempts
 * says nothing, and the state stays).
 */
function change(o: Observed): "degraded" | "recovered" | null {
  const rate = o.total ? o.failed / o.total : 0;
  if (!o.degraded && o.total >= o.minAttempts && rate >= o.failureRate) return "degraded";
  if (o.degraded && o.total > 0 && rate < o.failureRate) return "recovered";
  return null;
}

/**
 * Stores a change and emits its event in one transaction. The update is conditional on the state
 * read, so of two workers checking at once only one changes it and only that one emits.
 */
async function apply(db: Db, o: Observed, to: "degraded" | "recovered", now: Date): Promise<boolean> {
  const table = o.kind === "fulfillment" ? `"FulfillmentEndpoint"` : `"EventSubscription"`;
  return db.$transaction(async (tx) => {
    const changed = await tx.$executeRawUnsafe(
      `UPDATE ${table} SET "degradedSince" = $2 WHERE id = $1::uuid AND "degradedSince" IS ${to === "degraded" ? "NULL" : "NOT NULL"}`,
      o.id,
      to === "degraded" ? now : null,
    );
    if (changed === 0) return false;
    await emitEvent(prismaSql(tx), {
      tenantId: o.tenantId,
      type: to === "degraded" ? "endpoint.degraded" : "endpoint.recovered",
      data: {
        ...(o.kind === "fulfillment" ? { endpointId: o.id, name: o.name } : { subscriptionId: o.id }),
        kind: o.kind,
        url: o.url,
        attempts: o.total,
        failed: o.failed,
        failureRate: o.total ? o.failed / o.total : 0,
        threshold: o.failureRate,
        windowMinutes: HEALTH_WINDOW_MINUTES,
      },
    });
    return true;
  });
}

/**
 * One health check of every tenant's endpoints and subscriptions: the changes it made (and emitted
 * `endpoint.degraded` / `endpoint.recovered` for), each exactly once however many workers run it.
 */
export async function checkWebhookHealth(
  db: Db,
  now = new Date(),
): Promise<{ kind: string; id: string; to: "degraded" | "recovered" }[]> {
  const observed = await db.$queryRawUnsafe<Observed[]>(
    OBSERVE,
    now,
    HEALTH_DEFAULTS.failureRate,
    HEALTH_DEFAULTS.minAttempts,
    HEALTH_WINDOW_MINUTES,
  );
  const changes = [];
  for (const o of observed) {
    const to = change(o);
    if (to && (await apply(db, o, to, now))) changes.push({ kind: o.kind, id: o.id, to });
  }
  return changes;
}
