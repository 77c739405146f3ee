import { prismaSql, type Prisma } from "@cb/db";
import { emitEvent } from "@cb/event-webhooks";
import type { JobHelpers, Task } from "@cb/jobs";
import { defaultLogger } from "@cb/logging";
import { notificationsTotal } from "@cb/observability";
import { cancelPending, scheduleDelayed } from "./delayed-rules.ts";
import {
  deliverTo,
  ruleContact,
  ruleMessage,
  type ContactMatch,
  type NotifyDeps,
  type Outcome,
  type RuleTemplate,
} from "./deliver.ts";
import { quietUntil, type QuietSettings } from "./quiet-hours.ts";
import { conditionHolds, INVALID_CONDITION, type EventDocument } from "./rules.ts";
import { giveUpScheduled, sendScheduled } from "./send-scheduled.ts";
import { handOverDue, HAND_OVER_SCHEDULED, SEND_SCHEDULED } from "@cb/conversation";
import { notifyInOrder, type InOrderOptions } from "./in-order.ts";
import { NOTIFY_EVENT, subjectQueue } from "./store.ts";

/**
 * The `notify-event` task: the subject's events notify in order (in-order.ts), each thus: every
 * enabled rule for the event's type whose conditions hold sends its message (once: one
 * notification per event and rule), deferred through quiet hours, recorded, and announced as
 * notification.* events; a delayed rule's is scheduled instead, and pending ones the event cancels
 * are cancelled. `send-scheduled` sends scheduled notifications when due.
 */
export function createNotificationTasks(deps: NotifyDeps, options: InOrderOptions = {}): Record<string, Task> {
  return {
    [NOTIFY_EVENT]: async (payload, helpers) => {
      const { failed, retrying } = await notifyInOrder(
        deps.pool,
        (payload as { orderEventId: string }).orderEventId,
        (orderEventId) => notifyEvent(deps, orderEventId, helpers),
        options,
      );
      for (const f of failed) helpers.logger.error(`order event ${f.orderEventId} given up on: ${f.error}`);
      if (retrying)
        helpers.logger.warn(
          `order event ${retrying.orderEventId} failed (attempt ${retrying.attempts}), tried again at ${retrying.retryAt.toISOString()}: ${retrying.error}`,
        );
    },
    // Delayed rules, reminders and follow-ups, when due. The last attempt's failure fails the
    // notification with the error (it would otherwise stay `queued` for good).
    [SEND_SCHEDULED]: async (payload, helpers) => {
      const { notificationId } = payload as { notificationId: string };
      try {
        await sendScheduled(deps, notificationId);
      } catch (err) {
        const { attempts, max_attempts } = helpers.job;
        if (attempts < max_attempts) throw err;
        const error = err instanceof Error ? err.message : String(err);
        helpers.logger.error(`scheduled notification ${notificationId} given up on: ${error}`);
        await giveUpScheduled(deps, notificationId, attempts, error);
      }
    },
    // Scheduled notifications due within two minutes into graphile-worker (minutely: HAND_OVER_CRONTAB).
    [HAND_OVER_SCHEDULED]: async () => {
      await handOverDue(deps.pool, deps.now?.() ?? new Date());
    },
  };
}

/** Notifies one event; "deferred" when quiet hours hold it (its job comes back when they end). */
async function notifyEvent(deps: NotifyDeps, orderEventId: string, helpers: JobHelpers): Promise<"done" | "deferred"> {
  const { db } = deps;
  const logger = deps.logger ?? defaultLogger();
  const row = await db.orderEvent.findUnique({ where: { id: orderEventId }, include: { tenant: true } });
  if (!row) return "done";
  const event: EventDocument = {
    id: row.eventId,
    type: row.type,
    subject: row.subject,
    occurredAt: row.occurredAt.toISOString(),
    data: row.data as Record<string, unknown>,
  };
  const rules = (
    await db.notificationRule.findMany({ where: { tenantId: row.tenantId, eventType: row.type, enabled: true } })
  ).filter((r) =>
    r.conditions.every((condition) =>
      conditionHolds(condition, event, (err) =>
        logger.warn({ err, tenantId: row.tenantId, ruleId: r.id, orderEventId, condition }, INVALID_CONDITION),
      ),
    ),
  );
  // What this event cancels goes first: a pending nudge must not go out once an order came in.
  await cancelPending(deps, row.tenantId, event);
  if (!rules.length) return "done";

  // Delayed rules are scheduled now and meet quiet hours when they are due (send-scheduled.ts).
  const immediate = rules.filter((r) => r.delay === null);
  for (const rule of rules.filter((r) => r.delay !== null)) {
    const refused = await scheduleDelayed(deps, row.tenant, rule, event, orderEventId);
    if (refused) await notifyOnce(deps, row.tenantId, orderEventId, rule, event, async () => refused);
  }
  if (!immediate.length) return "done";

  // Each rule's contact, and quiet hours in the contact's time zone (else the tenant's): a rule
  // whose contact is inside them is deferred, the others are sent now.
  const now = deps.now?.() ?? new Date();
  const settings = row.tenant.notificationSettings as QuietSettings;
  const held: { rule: (typeof immediate)[number]; until: Date }[] = [];
  for (const rule of immediate) {
    const found = await ruleContact(deps.pool, row.tenantId, rule.contactMatch as ContactMatch, event);
    const until = quietUntil(settings, found.contact?.timezone ?? row.tenant.timezone, now);
    if (until) {
      held.push({ rule, until });
      continue;
    }
    await notifyOnce(deps, row.tenantId, orderEventId, rule, event, async (notificationId) =>
      found.outcome
        ? found.outcome
        : deliverTo(
            deps,
            row.tenantId,
            notificationId,
            found.contact.id,
            ruleMessage(rule.template as unknown as RuleTemplate, event),
            rule.channelOrder,
          ),
    );
  }
  if (!held.length) return "done";

  // Deferred, never dropped: the same job comes back when the first quiet hours end (again while
  // others still hold), in the order's queue so that the order's events still notify one at a
  // time, in order.
  await db.notification.createMany({
    data: held.map(({ rule, until }) => ({
      tenantId: row.tenantId,
      orderEventId,
      ruleId: rule.id,
      status: "deferred",
      reason: `quiet hours until ${until.toISOString()}`,
    })),
    skipDuplicates: true,
  });
  await helpers.addJob(
    NOTIFY_EVENT,
    { orderEventId },
    {
      runAt: new Date(Math.min(...held.map((h) => h.until.getTime()))),
      jobKey: `notify:${orderEventId}:after-quiet`,
      queueName: subjectQueue(row.tenantId, row.subject),
    },
  );
  notificationsTotal.inc({ outcome: "deferred" }, held.length);
  return "deferred";
}

/**
 * One rule's notification about one event: its row (once per event and rule), the outcome of
 * `send` unless an earlier run already finished it, recorded and announced in one transaction.
 */
async function notifyOnce(
  deps: NotifyDeps,
  tenantId: string,
  orderEventId: string,
  rule: { id: string; name: string },
  event: EventDocument,
  send: (notificationId: string) => Promise<Outcome>,
): Promise<void> {
  const { db } = deps;
  await db.notification.createMany({ data: [{ tenantId, orderEventId, ruleId: rule.id }], skipDuplicates: true });
  const notification = await db.notification.findFirstOrThrow({ where: { orderEventId, ruleId: rule.id } });
  if (["sent", "failed", "skipped"].includes(notification.status)) return;
  const outcome = await send(notification.id);
  notificationsTotal.inc({ outcome: outcome.status });
  await db.$transaction(async (tx: Prisma.TransactionClient) => {
    await tx.notification.update({
      where: { id: notification.id },
      data: {
        status: outcome.status,
        reason: outcome.reason ?? null,
        contactId: outcome.contactId ?? null,
        channelAccountId: outcome.channelAccountId ?? null,
        messageId: outcome.messageId ?? null,
      },
    });
    await emitEvent(prismaSql(tx), {
      tenantId,
      type: `notification.${outcome.status}`,
      data: { notificationId: notification.id, eventId: event.id, rule: rule.name, ...outcome },
    });
  });
}
