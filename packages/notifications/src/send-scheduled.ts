import { channelNames } from "@cb/channels";
import { prismaSql, type Prisma } from "@cb/db";
import { emitEvent } from "@cb/event-webhooks";
import type { JobHelpers } from "@cb/jobs";
import { notificationsTotal } from "@cb/observability";
import { maxLatenessMs } from "./delay.ts";
import {
  deliverTo,
  ruleContact,
  ruleMessage,
  type ContactMatch,
  type NotifyDeps,
  type OutgoingMessage,
  type Outcome,
  type RuleTemplate,
} from "./deliver.ts";
import { sendFollowup, type FollowupContent } from "./followup.ts";
import { quietUntil, type QuietSettings } from "./quiet-hours.ts";
import type { EventDocument } from "./rules.ts";
import { SEND_SCHEDULED } from "@cb/conversation";

/** The channels a reminder tries when it names none: the registry's order. */
export const DEFAULT_CHANNEL_ORDER = [...channelNames];

export interface ReminderContent {
  message: OutgoingMessage;
  channelOrder?: string[];
}

type Row = NonNullable<Awaited<ReturnType<NotifyDeps["db"]["notification"]["findUnique"]>>>;

/**
 * The send-scheduled job: a scheduled notification, when due. Cancelled (or already done): nothing.
 * Due longer ago than the tenant's `maxLateness` (the system was down): skipped, `too_late`. Inside
 * quiet hours (the contact's time zone, else the tenant's): moved to their end. Otherwise claimed
 * (`queued`, so a cancel from then on is refused), sent under the platforms' rules, recorded and
 * announced as notification.* events. A retried job finds it claimed and sends what is still pending.
 */
export async function sendScheduled(deps: NotifyDeps, notificationId: string, helpers: JobHelpers): Promise<void> {
  const { db } = deps;
  const row = await db.notification.findUnique({ where: { id: notificationId } });
  if (!row) return;
  const tenant = await db.tenant.findUniqueOrThrow({ where: { id: row.tenantId } });
  const settings = tenant.notificationSettings as QuietSettings & { maxLateness?: string };
  // Each step below changes a row only while it is scheduled: a cancelled or finished one is left
  // alone. A claimed one (queued) is a retry after a failed send: its pending outbound row is sent.
  if (row.status !== "queued") {
    const now = deps.now?.() ?? new Date();
    const dueAt = row.dueAt ?? row.createdAt;
    if (now.getTime() - dueAt.getTime() > maxLatenessMs(settings)) {
      await record(deps, row, { status: "skipped", reason: `too_late: due at ${dueAt.toISOString()}` }, "scheduled");
      return;
    }
    const contact = row.contactId ? await db.contact.findUnique({ where: { id: row.contactId } }) : null;
    const until = quietUntil(settings, contact?.timezone ?? tenant.timezone, now);
    if (until) {
      const { count } = await db.notification.updateMany({
        where: { id: row.id, status: "scheduled" },
        data: { dueAt: until, reason: `quiet hours until ${until.toISOString()}` },
      });
      if (count)
        await helpers.addJob(
          SEND_SCHEDULED,
          { notificationId: row.id },
          { runAt: until, maxAttempts: 10, ...(row.jobKey ? { jobKey: row.jobKey } : {}) },
        );
      return;
    }
    const { count } = await db.notification.updateMany({
      where: { id: row.id, status: "scheduled" },
      data: { status: "queued" },
    });
    if (!count) return;
  }
  await record(deps, row, await deliverScheduled(deps, row), "queued");
}

async function deliverScheduled(deps: NotifyDeps, row: Row): Promise<Outcome> {
  const { db } = deps;
  if (row.kind === "reminder") {
    const content = row.content as unknown as ReminderContent;
    if (!row.contactId) return { status: "skipped", reason: "no contact" };
    return deliverTo(
      deps,
      row.tenantId,
      row.id,
      row.contactId,
      content.message,
      content.channelOrder ?? DEFAULT_CHANNEL_ORDER,
    );
  }
  if (row.kind === "followup") return sendFollowup(deps, row, row.content as unknown as FollowupContent);
  const [orderEvent, rule] = await Promise.all([
    row.orderEventId ? db.orderEvent.findUnique({ where: { id: row.orderEventId } }) : null,
    row.ruleId ? db.notificationRule.findUnique({ where: { id: row.ruleId } }) : null,
  ]);
  if (!orderEvent) return { status: "skipped", reason: "the event was deleted" };
  if (!rule?.enabled) return { status: "skipped", reason: rule ? "the rule was disabled" : "the rule was deleted" };
  const event: EventDocument = {
    id: orderEvent.eventId,
    type: orderEvent.type,
    subject: orderEvent.subject,
    occurredAt: orderEvent.occurredAt.toISOString(),
    data: orderEvent.data as Record<string, unknown>,
  };
  const found = await ruleContact(db, row.tenantId, rule.contactMatch as ContactMatch, event);
  if (found.outcome) return found.outcome;
  return deliverTo(
    deps,
    row.tenantId,
    row.id,
    found.contact.id,
    ruleMessage(rule.template as unknown as RuleTemplate, event),
    rule.channelOrder,
  );
}

/** What a rule's notification.* event says besides (as an immediate one's does): the order event's id and the rule's name. */
async function about(deps: NotifyDeps, row: Row): Promise<{ eventId?: string; rule?: string }> {
  if (row.kind !== "rule") return {};
  const [event, rule] = await Promise.all([
    row.orderEventId
      ? deps.db.orderEvent.findUnique({ where: { id: row.orderEventId }, select: { eventId: true } })
      : null,
    row.ruleId ? deps.db.notificationRule.findUnique({ where: { id: row.ruleId }, select: { name: true } }) : null,
  ]);
  return { ...(event ? { eventId: event.eventId } : {}), ...(rule ? { rule: rule.name } : {}) };
}

/** The outcome, if the notification is still `from`, with its notification.* event, in one transaction. */
async function record(deps: NotifyDeps, row: Row, outcome: Outcome, from: "scheduled" | "queued"): Promise<void> {
  const recorded = await deps.db.$transaction(async (tx: Prisma.TransactionClient) => {
    const { count } = await tx.notification.updateMany({
      where: { id: row.id, status: from },
      data: {
        status: outcome.status,
        reason: outcome.reason ?? null,
        ...(outcome.contactId ? { contactId: outcome.contactId } : {}),
        ...(outcome.channelAccountId ? { channelAccountId: outcome.channelAccountId } : {}),
        messageId: outcome.messageId ?? null,
      },
    });
    if (!count) return false;
    await emitEvent(prismaSql(tx), {
      tenantId: row.tenantId,
      type: `notification.${outcome.status}`,
      data: { notificationId: row.id, kind: row.kind, ...(await about(deps, row)), ...outcome },
    });
    return true;
  });
  if (recorded) notificationsTotal.inc({ outcome: outcome.status });
}
