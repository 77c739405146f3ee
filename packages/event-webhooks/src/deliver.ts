import { prismaSql, type Db, type Prisma } from "@cb/db";
import { EgressError, type Egress } from "@cb/egress";
import { recordedBody, signatureHeaders } from "@cb/fulfillment";
import { addJob, type Task } from "@cb/jobs";
import { eventDeliveries, inSpan, SpanKind, traceHeaders } from "@cb/observability";
import type { Sealer } from "@cb/secrets";
import { DELIVER_EVENT, emitEvent } from "./emit.ts";

/**
 * When to try again after the n-th failed attempt (about a day in all): at once, 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 10 h, each with ±10% jitter so failed endpoints are not hit in lockstep.
 */
export const RETRY_SCHEDULE_MS = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3600_000,
  5 * 3600_000,
  10 * 3600_000,
  10 * 3600_000,
];

export interface DeliveryOptions {
  db: Db;
  egress: Egress;
  sealer: Sealer;
  /** An endpoint failing without a single success for this long is disabled (default 5 days). */
  disableAfterMs?: number;
  timeoutMs?: number;
  /** Tests compress the schedule. */
  schedule?: number[];
  now?: () => Date;
}

/** Why an attempt failed, in webhook health's classes. */
function errorClassOf(httpStatus: number | undefined, err: unknown): string {
  if (httpStatus !== undefined)
    return httpStatus >= 500 && httpStatus < 600
      ? "http_5xx"
      : httpStatus >= 400 && httpStatus < 500
        ? "http_4xx"
        : "invalid_response";
  if (err instanceof EgressError)
    return err.code === "timeout" ? "timeout" : err.code === "too_large" ? "invalid_response" : "connection";
  return "connection";
}

const jitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2));

function retryAfterMs(headers: Record<string, string | string[] | undefined>): number | undefined {
  const value = headers["retry-after"];
  if (typeof value !== "string") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

async function disable(
  db: Db,
  subscription: { id: string; tenantId: string; url: string },
  reason: string,
): Promise<void> {
  await db.$transaction(async (tx) => {
    await tx.eventSubscription.update({
      where: { id: subscription.id },
      data: { enabled: false, disabledReason: reason },
    });
    await tx.eventDelivery.updateMany({
      where: { subscriptionId: subscription.id, status: { in: ["pending", "failed"] } },
      data: { status: "dead", nextAttemptAt: null },
    });
    // Other subscriptions of the tenant hear about it (this one no longer can).
    await emitEvent(prismaSql(tx), {
      tenantId: subscription.tenantId,
      type: "endpoint.disabled",
      data: { subscriptionId: subscription.id, url: subscription.url, reason },
    });
  });
}

/**
 * The graphile-worker task that makes one attempt of one delivery and schedules the next itself
 * (run_at), so the schedule above is ours, not the queue's. Each attempt is signed afresh, with the
 * event's id as `webhook-id` so receivers can deduplicate; redirects are not followed (egress).
 * A worker killed mid-attempt leaves the job to be run again: delivery is at least once.
 */
export function createDeliverTask(options: DeliveryOptions): Task {
  const schedule = options.schedule ?? RETRY_SCHEDULE_MS;
  const now = options.now ?? (() => new Date());
  const { db } = options;
  return async (payload) => {
    const { deliveryId } = payload as { deliveryId: string };
    const delivery = await db.eventDelivery.findUnique({
      where: { id: deliveryId },
      include: { event: true, subscription: true },
    });
    if (!delivery || delivery.status === "succeeded" || delivery.status === "dead") return;
    const { event, subscription } = delivery;
    if (!subscription.enabled) {
      await db.eventDelivery.update({ where: { id: delivery.id }, data: { status: "dead", nextAttemptAt: null } });
      return;
    }
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      version: event.version,
      // Standard Webhooks' name for when it happened; createdAt (the same time) stays for existing receivers.
      timestamp: event.createdAt.toISOString(),
      createdAt: event.createdAt.toISOString(),
      tenantId: event.tenantId,
      data: event.data,
    });
    const { signingSecrets } = options.sealer.openJson<{ signingSecrets: string[] }>(subscription.secrets);
    const started = performance.now();
    // The attempt is a span of its own trace; its traceparent goes to the receiver.
    const trace = (work: () => ReturnType<typeof options.egress.request>) =>
      inSpan("POST event webhook", { kind: SpanKind.CLIENT, attributes: { "cb.event_type": event.type } }, work);
    let httpStatus: number | undefined;
    let excerpt: string | undefined;
    let error: string | undefined;
    let errorClass: string | undefined;
    let wait: number | undefined;
    const headers = {
      "content-type": "application/json",
      "user-agent": "chatbot-backend-webhooks/1",
      ...signatureHeaders(signingSecrets, event.id, body, now()),
    };
    try {
      const response = await trace(() =>
        options.egress.request(subscription.url, {
          method: "POST",
          headers: { ...headers, ...traceHeaders() },
          body,
          timeoutMs: options.timeoutMs ?? 10_000,
          maxBytes: 64 * 1024,
        }),
      );
      httpStatus = response.status;
      excerpt = recordedBody(response.body);
      if (response.status < 200 || response.status >= 300) {
        error = `HTTP ${response.status}`;
        errorClass = errorClassOf(response.status, undefined);
      }
      if (response.status === 429 || response.status === 503) wait = retryAfterMs(response.headers);
    } catch (err) {
      error = err instanceof EgressError ? `${err.code}: ${err.message}` : `failed: ${(err as Error).message}`;
      errorClass = errorClassOf(undefined, err);
    }
    const latencyMs = Math.round(performance.now() - started);
    const attempts = delivery.attempts + 1;
    const attempt = {
      deliveryId: delivery.id,
      subscriptionId: subscription.id,
      httpStatus: httpStatus ?? null,
      latencyMs,
      error: error ?? null,
      errorClass: errorClass ?? null,
      requestBody: recordedBody(body),
      // The body carries no secret; the signature, made with one, is not kept.
      requestHeaders: { ...headers, "webhook-signature": "[redacted]" },
      responseExcerpt: excerpt ?? null,
    };

    eventDeliveries.inc({ outcome: error ? (httpStatus === 410 ? "gone" : "failed") : "succeeded" });
    if (!error) {
      await db.$transaction([
        db.deliveryAttempt.create({ data: attempt }),
        db.eventDelivery.update({
          where: { id: delivery.id },
          data: { status: "succeeded", attempts, nextAttemptAt: null, lastError: null },
        }),
        db.eventSubscription.update({ where: { id: subscription.id }, data: { failingSince: null } }),
      ]);
      return;
    }
    await db.deliveryAttempt.create({ data: attempt });
    if (httpStatus === 410) return disable(db, subscription, "the endpoint answered 410 Gone");
    const failingSince = subscription.failingSince ?? now();
    if (now().getTime() - failingSince.getTime() > (options.disableAfterMs ?? 5 * 24 * 3600_000)) {
      await db.eventDelivery.update({ where: { id: delivery.id }, data: { attempts, lastError: error } });
      return disable(db, subscription, `every delivery failed since ${failingSince.toISOString()}`);
    }
    const next = schedule[attempts];
    await db.$transaction(async (tx: Prisma.TransactionClient) => {
      if (!subscription.failingSince)
        await tx.eventSubscription.update({ where: { id: subscription.id }, data: { failingSince } });
      if (next === undefined) {
        await tx.eventDelivery.update({
          where: { id: delivery.id },
          data: { status: "dead", attempts, nextAttemptAt: null, lastError: error },
        });
        return;
      }
      const runAt = new Date(now().getTime() + Math.max(jitter(next), wait ?? 0));
      await tx.eventDelivery.update({
        where: { id: delivery.id },
        data: { status: "failed", attempts, nextAttemptAt: runAt, lastError: error },
      });
      await addJob(
        prismaSql(tx),
        DELIVER_EVENT,
        { deliveryId: delivery.id },
        { runAt, jobKey: `delivery:${delivery.id}:${attempts}`, maxAttempts: 3 },
      );
    });
  };
}
