import { prismaSql, type Prisma } from "@cb/db";
import { contactValue, ruleContact, type ContactMatch, type NotifyDeps, type Outcome } from "./deliver.ts";
import { outsideQuietHours, ruleDueAt, type RuleDelay } from "./delay.ts";
import type { QuietSettings } from "./quiet-hours.ts";
import type { EventDocument } from "./rules.ts";
import { cancelScheduled, scheduleNotification } from "@cb/conversation";

export interface CancelOn {
  eventType: string;
  match: "subject" | "contact";
}

interface DelayedRule {
  id: string;
  delay: unknown;
  replace: boolean;
  contactMatch: unknown;
}

/** What cancelOn's contact match compares: the rule's contact value as read from an event. */
export function contactKeyOf(match: ContactMatch, event: EventDocument): string | undefined {
  const value = contactValue(match, event);
  return value === undefined ? undefined : `${match.by}:${value}`;
}

/**
 * Cancels the pending notifications this event cancels: those of every rule whose `cancelOn` lists
 * the event's type, scheduled for the same subject (`match: "subject"`) or the same contact as the
 * rule reads it from this event (`match: "contact"`: an order.created with the customer id of a
 * pending cart.updated nudge). Returns how many were cancelled.
 */
export async function cancelPending(deps: NotifyDeps, tenantId: string, event: EventDocument): Promise<number> {
  const { rows: rules } = await deps.pool.query<{ id: string; contactMatch: ContactMatch; cancelOn: CancelOn[] }>(
    `SELECT id, "contactMatch", "cancelOn" FROM "NotificationRule" WHERE "tenantId" = $1::uuid AND "cancelOn" @> $2::jsonb`,
    [tenantId, JSON.stringify([{ eventType: event.type }])],
  );
  let cancelled = 0;
  for (const rule of rules) {
    const matches = new Set(rule.cancelOn.filter((c) => c.eventType === event.type).map((c) => c.match));
    const contactKey = matches.has("contact") ? contactKeyOf(rule.contactMatch, event) : undefined;
    const { rows } = await deps.pool.query<{ id: string }>(
      `SELECT id FROM "Notification" WHERE "ruleId" = $1::uuid AND status = 'scheduled'
       AND (($2::boolean AND subject = $3) OR "contactKey" = $4)`,
      [rule.id, matches.has("subject"), event.subject, contactKey ?? null],
    );
    if (!rows.length) continue;
    cancelled += (
      await deps.db.$transaction((tx: Prisma.TransactionClient) =>
        cancelScheduled(
          prismaSql(tx),
          rows.map((r) => r.id),
          `cancelled by ${event.type} ${event.id}`,
        ),
      )
    ).length;
  }
  return cancelled;
}

/**
 * Schedules a delayed rule's notification for an event: due after the rule's delay (in the contact's
 * time zone, else the tenant's), moved out of quiet hours, as a scheduled notification. With
 * `replace`, the rule's pending notification for the same subject is cancelled (its job, if it has
 * one yet, removed), in the same transaction. Once per event and rule. Returns the
 * outcome to record when it cannot be scheduled (no time in the event).
 */
export async function scheduleDelayed(
  deps: NotifyDeps,
  tenant: { id: string; timezone: string; notificationSettings: unknown },
  rule: DelayedRule,
  event: EventDocument,
  orderEventId: string,
): Promise<Outcome | null> {
  const match = rule.contactMatch as ContactMatch;
  const found = await ruleContact(deps.pool, tenant.id, match, event);
  const { contact } = found;
  const zone = contact?.timezone ?? tenant.timezone;
  const due = ruleDueAt(rule.delay as RuleDelay, event, zone);
  if ("error" in due) return { status: "skipped", reason: due.error };
  const dueAt = outsideQuietHours(tenant.notificationSettings as QuietSettings, zone, due);
  const contactKey = contactKeyOf(match, event);
  await deps.db.$transaction(async (tx: Prisma.TransactionClient) => {
    const sql = prismaSql(tx);
    if (rule.replace) {
      const { rows } = await sql.query<{ id: string }>({
        text: `SELECT id FROM "Notification" WHERE "ruleId" = $1::uuid AND subject = $2 AND status = 'scheduled'
               AND "orderEventId" <> $3::uuid`,
        values: [rule.id, event.subject, orderEventId],
      });
      await cancelScheduled(
        sql,
        rows.map((r) => r.id),
        `replaced by ${event.type} ${event.id}`,
      );
    }
    await scheduleNotification(
      sql,
      {
        tenantId: tenant.id,
        kind: "rule",
        dueAt,
        orderEventId,
        ruleId: rule.id,
        subject: event.subject,
        ...(contactKey ? { contactKey } : {}),
        ...(contact ? { contactId: contact.id } : {}),
        ...(dueAt.getTime() !== due.getTime() ? { reason: `quiet hours until ${dueAt.toISOString()}` } : {}),
      },
      deps.now?.() ?? new Date(),
    );
  });
  return null;
}
