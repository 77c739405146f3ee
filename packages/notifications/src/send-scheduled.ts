import { channelNames } from "@cb/channels";
import { transaction } from "@cb/db";
import { eventParameters, withEvents } from "@cb/event-webhooks";
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
import { rescheduleNotification } from "@cb/conversation";

/** The channels a reminder tries when it names none: the registry's order. */
export const DEFAULT_CHANNEL_ORDER = [...channelNames];

export interface ReminderContent {
  message: OutgoingMessage;
  channelOrder?: string[];
}

// The notification with what deciding about it needs, in one statement: the tenant's settings,
// the time zone quiet hours are read in (the contact's, else the tenant's), and for a rule's its
// order event and rule (an absent one: deleted).
const LOAD = `
SELECT n.id, n."tenantId", n.kind, n.status, n."dueAt", n."createdAt", n."contactId", n."conversationId", n.content,
  t.id IS NOT NULL AS "tenantExists", t."notificationSettings" AS settings, COALESCE(k.timezone, t.timezone) AS timezone,
  e."eventId", e.type AS "eventType", e.subject AS "eventSubject", e."occurredAt" AS "eventOccurredAt", e.data AS "eventData",
  r.name AS rule, r.enabled AS "ruleEnabled", r.template AS "ruleTemplate", r."contactMatch" AS "ruleContactMatch",
  r."channelOrder" AS "ruleChannelOrder"
FROM "Notification" n
  LEFT JOIN "Tenant" t ON t.id = n."tenantId"
  LEFT JOIN "Contact" k ON k.id = n."contactId"
  LEFT JOIN "OrderEvent" e ON e.id = n."orderEventId"
  LEFT JOIN "NotificationRule" r ON r.id = n."ruleId"
WHERE n.id = $1::uuid`;

type Row = {
  id: string;
  tenantId: string;
  kind: string;
  status: string;
  dueAt: Date | null;
  createdAt: Date;
  contactId: string | null;
  conversationId: string | null;
  content: unknown;
  tenantExists: boolean;
  settings: QuietSettings & { maxLateness?: string };
  timezone: string;
  eventId: string | null;
  eventType: string;
  eventSubject: string;
  eventOccurredAt: Date;
  eventData: Record<string, unknown>;
  rule: string | null;
  ruleEnabled: boolean;
  ruleTemplate: RuleTemplate;
  ruleContactMatch: ContactMatch;
  ruleChannelOrder: string[];
};

async function load(deps: NotifyDeps, notificationId: string): Promise<Row | undefined> {
  const { rows } = await deps.pool.query<Row>({ name: "scheduled-load", text: LOAD, values: [notificationId] });
  return rows[0];
}

/**
 * The send-scheduled job: a scheduled notification, when due. Cancelled (or already done): nothing.
 * Due longer ago than the tenant's `maxLateness` (the system was down): skipped, `too_late`. Inside
 * quiet hours (the contact's time zone, else the tenant's): moved to their end. Otherwise claimed
 * (`queued`, so a cancel from then on is refused), sent under the platforms' rules, recorded and
 * announced as notification.* events. A retried job finds it claimed and sends what is still pending.
 * Through pg, a few statements a message (a worker sends hundreds a second).
 */
export async function sendScheduled(deps: NotifyDeps, notificationId: string): Promise<void> {
  const row = await load(deps, notificationId);
  // Each step below changes a row only while it is scheduled: a cancelled or finished one is left
  // alone. A claimed one (queued) is a retry after a failed send: its pending outbound row is sent.
  if (!row || !["scheduled", "queued"].includes(row.status)) return;
  if (!row.tenantExists) throw new Error(`tenant ${row.tenantId} of notification ${row.id} not found`);
  if (row.status === "scheduled") {
    const now = deps.now?.() ?? new Date();
    const dueAt = row.dueAt ?? row.createdAt;
    if (now.getTime() - dueAt.getTime() > maxLatenessMs(row.settings)) {
      await record(deps, row, { status: "skipped", reason: `too_late: due at ${dueAt.toISOString()}` }, "scheduled");
      return;
    }
    const until = quietUntil(row.settings, row.timezone, now);
    if (until) {
      await transaction(deps.pool, (sql) =>
        rescheduleNotification(sql, row.id, until, `quiet hours until ${until.toISOString()}`, now),
      );
      return;
    }
    const { rowCount } = await deps.pool.query({
      name: "scheduled-claim",
      text: `UPDATE "Notification" SET status = 'queued', "updatedAt" = now() WHERE id = $1::uuid AND status = 'scheduled'`,
      values: [row.id],
    });
    if (!rowCount) return;
  }
  await record(deps, row, await deliverScheduled(deps, row), "queued");
}

async function deliverScheduled(deps: NotifyDeps, row: Row): Promise<Outcome> {
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
  if (!row.eventId) return { status: "skipped", reason: "the event was deleted" };
  if (!row.ruleEnabled)
    return { status: "skipped", reason: row.rule ? "the rule was disabled" : "the rule was deleted" };
  const event: EventDocument = {
    id: row.eventId,
    type: row.eventType,
    subject: row.eventSubject,
    occurredAt: row.eventOccurredAt.toISOString(),
    data: row.eventData,
  };
  const found = await ruleContact(deps.pool, row.tenantId, row.ruleContactMatch, event);
  if (found.outcome) return found.outcome;
  return deliverTo(
    deps,
    row.tenantId,
    row.id,
    found.contact.id,
    ruleMessage(row.ruleTemplate, event),
    row.ruleChannelOrder,
  );
}

/** What a rule's notification.* event says besides (as an immediate one's does): the order event's id and the rule's name. */
function about(row: Row): { eventId?: string; rule?: string } {
  if (row.kind !== "rule") return {};
  return { ...(row.eventId ? { eventId: row.eventId } : {}), ...(row.rule ? { rule: row.rule } : {}) };
}

/**
 * After the job's last attempt failed: the notification, unless finished or cancelled meanwhile, is
 * failed with the reason and announced, as an immediate one's is when its event is given up on.
 */
export async function giveUpScheduled(deps: NotifyDeps, notificationId: string, attempts: number, error: string) {
  const row = await load(deps, notificationId);
  if (!row || !["scheduled", "queued"].includes(row.status)) return;
  await record(
    deps,
    row,
    { status: "failed", reason: `gave up after ${attempts} attempt(s): ${error}` },
    row.status as "scheduled" | "queued",
  );
}

// The outcome, if the notification is still $6 ($5: its id), and its notification.* event, in one
// statement: the event exists exactly when the outcome was recorded.
const RECORD = withEvents(
  [
    `recorded AS (
      UPDATE "Notification" SET status = $7, reason = $8, "contactId" = COALESCE($9::uuid, "contactId"),
        "channelAccountId" = COALESCE($10::uuid, "channelAccountId"), "messageId" = $11::uuid, "updatedAt" = now()
      WHERE id = $5::uuid AND status = $6 RETURNING id)`,
  ],
  { when: "EXISTS (SELECT 1 FROM recorded)", also: ["EXISTS (SELECT 1 FROM recorded) AS recorded"] },
);

/** The outcome, if the notification is still `from`, with its notification.* event. */
async function record(deps: NotifyDeps, row: Row, outcome: Outcome, from: "scheduled" | "queued"): Promise<void> {
  const { values } = eventParameters(row.tenantId, [
    {
      type: `notification.${outcome.status}`,
      data: { notificationId: row.id, kind: row.kind, ...about(row), ...outcome },
    },
  ]);
  const { rows } = await deps.pool.query<{ recorded: boolean }>({
    name: "scheduled-record",
    text: RECORD,
    values: [
      ...values,
      row.id,
      from,
      outcome.status,
      outcome.reason ?? null,
      outcome.contactId ?? null,
      outcome.channelAccountId ?? null,
      outcome.messageId ?? null,
    ],
  });
  if (rows[0]?.recorded) notificationsTotal.inc({ outcome: outcome.status });
}
