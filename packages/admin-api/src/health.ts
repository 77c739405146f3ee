import type { Db } from "@cb/db";
import { Type, type Static } from "typebox";

/** The spans health is shown over, and how each is cut into buckets for charts. */
export const WINDOWS = {
  "1h": { ms: 3600_000, buckets: 12 },
  "24h": { ms: 24 * 3600_000, buckets: 24 },
  "7d": { ms: 7 * 24 * 3600_000, buckets: 14 },
} as const;
export type Window = keyof typeof WINDOWS;

export const WindowQuery = Type.Object({
  window: Type.Optional(
    Type.Union(
      Object.keys(WINDOWS).map((w) => Type.Literal(w)),
      { default: "24h", description: "the span looked back over, to now" },
    ),
  ),
});

const Ms = Type.Union([Type.Integer(), Type.Null()], { description: "null without attempts" });
const Latency = Type.Object({ p50: Ms, p95: Ms }, { description: "attempt latency in ms (percentile_cont)" });
export const HealthStatus = Type.Union([Type.Literal("healthy"), Type.Literal("degraded"), Type.Literal("disabled")], {
  description:
    "disabled: the subscription was disabled (it gets nothing until re-enabled); degraded: the webhook-health job " +
    "found its failure rate over the tenant's threshold and it has not recovered since",
});
const Counts = {
  total: Type.Integer({ description: "attempts" }),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  successRate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
    description: "succeeded / total; null without attempts",
  }),
  latencyMs: Latency,
};
export const Summary = Type.Object(Counts);
export const Health = Type.Object({
  window: Type.String(),
  from: Type.String({ format: "date-time" }),
  to: Type.String({ format: "date-time" }),
  ...Counts,
  errors: Type.Record(Type.String(), Type.Integer(), {
    description:
      "failed attempts by class: timeout, connection, http_4xx, http_5xx, invalid_response, circuit_open (fulfillment: " +
      "not called, the breaker was open after repeated failures)",
  }),
  buckets: Type.Array(
    Type.Object({
      start: Type.String({ format: "date-time" }),
      total: Type.Integer(),
      failed: Type.Integer(),
      p50: Ms,
      p95: Ms,
    }),
    { description: "the window cut in equal spans, oldest first: 12 × 5 min, 24 × 1 h or 14 × 12 h" },
  ),
  status: HealthStatus,
  degradedSince: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});

// The attempts of one endpoint over [from, to], by kind: $1 its id, $2 from, $3 to.
const ATTEMPTS = {
  fulfillment: `SELECT "latencyMs" AS latency, ok, "errorClass" AS class, "createdAt" AS at FROM "FulfillmentCall"
    WHERE "endpointId" = $1::uuid AND "createdAt" > $2 AND "createdAt" <= $3`,
  subscription: `SELECT "latencyMs" AS latency, error IS NULL AS ok, "errorClass" AS class, at FROM "DeliveryAttempt"
    WHERE "subscriptionId" = $1::uuid AND at > $2 AND at <= $3`,
};
export type AttemptKind = keyof typeof ATTEMPTS;

const PERCENTILES = `percentile_cont(0.5) WITHIN GROUP (ORDER BY latency) AS p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY latency) AS p95`;

// Everything in one statement: the totals, failures by class, and per bucket ($4 its length in ms,
// $5 how many) the same figures.
const healthSql = (kind: AttemptKind) => `
WITH w AS MATERIALIZED (${ATTEMPTS[kind]}),
b AS (
  SELECT least(floor(extract(epoch FROM at - $2::timestamptz) * 1000 / $4)::int, $5 - 1) AS i, latency, ok FROM w
)
SELECT
  (SELECT row_to_json(s) FROM (SELECT count(*)::int AS total, count(*) FILTER (WHERE NOT ok)::int AS failed, ${PERCENTILES} FROM w) s) AS summary,
  (SELECT coalesce(json_object_agg(class, n), '{}') FROM (
    SELECT coalesce(class, 'unknown') AS class, count(*)::int AS n FROM w WHERE NOT ok GROUP BY 1) e) AS errors,
  (SELECT json_agg(x ORDER BY x.i) FROM (
    SELECT g.i, count(b.i)::int AS total, count(b.i) FILTER (WHERE NOT b.ok)::int AS failed, ${PERCENTILES}
    FROM generate_series(0, $5 - 1) g(i) LEFT JOIN b ON b.i = g.i GROUP BY g.i) x) AS buckets`;

interface Figures {
  total: number;
  failed: number;
  p50: number | null;
  p95: number | null;
}

const ms = (v: number | null) => (v === null ? null : Math.round(v));

export const counts = (f: Figures): Static<typeof Summary> => ({
  total: f.total,
  succeeded: f.total - f.failed,
  failed: f.failed,
  successRate: f.total ? (f.total - f.failed) / f.total : null,
  latencyMs: { p50: ms(f.p50), p95: ms(f.p95) },
});

export function statusOf(row: { enabled?: boolean; degradedSince: Date | null }): Static<typeof HealthStatus> {
  if (row.enabled === false) return "disabled";
  return row.degradedSince ? "degraded" : "healthy";
}

/** One endpoint's health over a window ending now, computed by PostgreSQL over its index. */
export async function healthOf(
  db: Db,
  kind: AttemptKind,
  row: { id: string; enabled?: boolean; degradedSince: Date | null },
  window: Window,
  now = new Date(),
): Promise<Static<typeof Health>> {
  const { ms: span, buckets: n } = WINDOWS[window];
  const from = new Date(now.getTime() - span);
  const stride = span / n;
  const [result] = await db.$queryRawUnsafe<
    { summary: Figures; errors: Record<string, number>; buckets: (Figures & { i: number })[] }[]
  >(healthSql(kind), row.id, from, now, stride, n);
  const { summary, errors, buckets } = result!;
  return {
    window,
    from: from.toISOString(),
    to: now.toISOString(),
    ...counts(summary),
    errors,
    buckets: buckets.map((b) => ({
      start: new Date(from.getTime() + b.i * stride).toISOString(),
      total: b.total,
      failed: b.failed,
      p50: ms(b.p50),
      p95: ms(b.p95),
    })),
    status: statusOf(row),
    degradedSince: row.degradedSince?.toISOString() ?? null,
  };
}

// Every endpoint (or subscription) of a tenant with its figures since $2: $1 the tenant.
const OVERVIEW = {
  fulfillment: `SELECT e.id, e.name, e.url, e."degradedSince", w.* FROM "FulfillmentEndpoint" e CROSS JOIN LATERAL (
    SELECT count(*)::int AS total, count(*) FILTER (WHERE NOT ok)::int AS failed, ${PERCENTILES.replaceAll("latency", `"latencyMs"`)}
    FROM "FulfillmentCall" c WHERE c."endpointId" = e.id AND c."createdAt" > $2) w
    WHERE e."tenantId" = $1::uuid ORDER BY e.name`,
  subscription: `SELECT e.id, e.url, e.enabled, e."disabledReason", e."degradedSince", w.* FROM "EventSubscription" e CROSS JOIN LATERAL (
    SELECT count(*)::int AS total, count(*) FILTER (WHERE a.error IS NOT NULL)::int AS failed, ${PERCENTILES.replaceAll("latency", `"latencyMs"`)}
    FROM "DeliveryAttempt" a WHERE a."subscriptionId" = e.id AND a.at > $2) w
    WHERE e."tenantId" = $1::uuid ORDER BY e."createdAt", e.id`,
};

export const OverviewItem = Type.Object({
  id: Type.String({ format: "uuid" }),
  url: Type.String(),
  status: HealthStatus,
  degradedSince: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  ...Counts,
});
export const Overview = Type.Object({
  window: Type.Literal("24h"),
  fulfillmentEndpoints: Type.Array(Type.Object({ ...OverviewItem.properties, name: Type.String() })),
  eventSubscriptions: Type.Array(
    Type.Object({
      ...OverviewItem.properties,
      enabled: Type.Boolean(),
      disabledReason: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

type OverviewRow = Figures & {
  id: string;
  url: string;
  degradedSince: Date | null;
  name?: string;
  enabled?: boolean;
  disabledReason?: string | null;
};

/** Every endpoint and subscription of a tenant with its last 24 h and its state (the console's overview). */
export async function overviewOf(db: Db, tenantId: string, now = new Date()): Promise<Static<typeof Overview>> {
  const since = new Date(now.getTime() - WINDOWS["24h"].ms);
  const [endpoints, subscriptions] = await Promise.all([
    db.$queryRawUnsafe<OverviewRow[]>(OVERVIEW.fulfillment, tenantId, since),
    db.$queryRawUnsafe<OverviewRow[]>(OVERVIEW.subscription, tenantId, since),
  ]);
  const item = (r: OverviewRow) => ({
    id: r.id,
    url: r.url,
    status: statusOf(r),
    degradedSince: r.degradedSince?.toISOString() ?? null,
    ...counts(r),
  });
  return {
    window: "24h",
    fulfillmentEndpoints: endpoints.map((r) => ({ ...item(r), name: r.name! })),
    eventSubscriptions: subscriptions.map((r) => ({
      ...item(r),
      enabled: r.enabled!,
      disabledReason: r.disabledReason ?? null,
    })),
  };
}
