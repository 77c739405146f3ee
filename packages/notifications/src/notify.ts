import type { ChannelSender, Reply } from "@cb/core";
import { sendReplies } from "@cb/conversation";
import { prismaSql, type Db, type Pool, type Prisma } from "@cb/db";
import { emitEvent } from "@cb/event-webhooks";
import type { JobHelpers, Task } from "@cb/jobs";
import { parsePhoneNumberFromString } from "libphonenumber-js";
import { DateTime } from "luxon";
import { defaultLogger, type Logger } from "@cb/logging";
import { notificationsTotal } from "@cb/observability";
import { conditionHolds, firstValue, INVALID_CONDITION, renderText, type EventDocument } from "./rules.ts";
import { notifyInOrder, type InOrderOptions } from "./in-order.ts";
import { NOTIFY_EVENT, subjectQueue } from "./store.ts";

export interface NotifyDeps {
  db: Db;
  /** The pool under db, for sending (sendReplies). */
  pool: Pool;
  getSender(channelAccountId: string): Promise<ChannelSender>;
  now?: () => Date;
  /** Where a rule whose condition cannot be evaluated is reported. */
  logger?: Logger;
}

interface RuleTemplate {
  text: string;
  whatsapp?: { template: string; language: string; parameters?: string[] };
  messenger?: { tag: string };
}

interface Settings {
  quietHours?: { start: string; end: string };
}

const WINDOW_MS = 24 * 3600_000;

/** When quiet hours (in the tenant's time zone) end, if now is inside them. */
export function quietUntil(settings: Settings, timezone: string, now: Date): Date | null {
  if (!settings.quietHours) return null;
  const local = DateTime.fromJSDate(now, { zone: timezone });
  const at = (hhmm: string, day: DateTime) => {
    const [h, m] = hhmm.split(":").map(Number);
    return day.set({ hour: h ?? 0, minute: m ?? 0, second: 0, millisecond: 0 });
  };
  const start = at(settings.quietHours.start, local);
  const end = at(settings.quietHours.end, local);
  if (start <= end) return local >= start && local < end ? end.toJSDate() : null;
  // A window across midnight (22:00–08:00).
  if (local >= start) return end.plus({ days: 1 }).toJSDate();
  return local < end ? end.toJSDate() : null;
}

type Outcome = {
  status: "sent" | "failed" | "skipped";
  reason?: string;
  contactId?: string;
  channelAccountId?: string;
  messageId?: string;
};

async function deliver(
  deps: NotifyDeps,
  tenantId: string,
  notificationId: string,
  rule: { template: unknown; contactMatch: unknown; channelOrder: string[] },
  event: EventDocument,
): Promise<Outcome> {
  const { db } = deps;
  const match = rule.contactMatch as { by: "customerId" | "phone" | "email"; path: string };
  const raw = firstValue(match.path, event);
  if (raw === undefined || raw === null || raw === "")
    return { status: "skipped", reason: `no ${match.by} at ${match.path}` };
  const value =
    match.by === "phone"
      ? (parsePhoneNumberFromString(String(raw))?.number ?? String(raw))
      : match.by === "email"
        ? String(raw).toLowerCase()
        : String(raw);
  const contact = await db.contact.findFirst({ where: { tenantId, [match.by]: value }, include: { identities: true } });
  if (!contact) return { status: "skipped", reason: `no contact with ${match.by} ${value}` };
  if (contact.optedOutAt) return { status: "skipped", reason: "the contact opted out", contactId: contact.id };

  const template = rule.template as RuleTemplate;
  const accounts = await db.channelAccount.findMany({
    where: { id: { in: contact.identities.map((i) => i.channelAccountId) }, enabled: true },
  });
  const reasons: string[] = [];
  for (const channel of rule.channelOrder) {
    const account = accounts.find((a) => a.channel === channel);
    const identity = account && contact.identities.find((i) => i.channelAccountId === account.id);
    if (!account || !identity) {
      reasons.push(`${channel}: not reachable there`);
      continue;
    }
    const conversation = await db.conversation.upsert({
      where: { channelAccountId_externalId: { channelAccountId: account.id, externalId: identity.externalId } },
      create: { tenantId, channelAccountId: account.id, externalId: identity.externalId },
      update: {},
    });
    const open =
      conversation.lastInboundAt !== null &&
      (deps.now?.() ?? new Date()).getTime() - conversation.lastInboundAt.getTime() < WINDOW_MS;
    let reply: Reply = { type: "text", text: renderText(template.text, event) };
    let messageTag: string | undefined;
    // Platform rules: WhatsApp and Messenger allow free-form messages only within 24 hours of the
    // customer's last message; outside it, an approved template or a permitted tag, or nothing.
    if (channel === "whatsapp" && !open) {
      if (!template.whatsapp) {
        reasons.push("whatsapp: outside the 24-hour window and the rule has no approved template");
        continue;
      }
      const parameters = (template.whatsapp.parameters ?? []).map((path) => ({
        type: "text",
        text: String(firstValue(path, event) ?? ""),
      }));
      reply = {
        type: "template",
        name: template.whatsapp.template,
        language: template.whatsapp.language,
        ...(parameters.length ? { components: [{ type: "body", parameters }] } : {}),
      };
    }
    if (channel === "messenger" && !open) {
      if (!template.messenger?.tag) {
        reasons.push("messenger: outside the 24-hour window and the rule has no message tag");
        continue;
      }
      messageTag = template.messenger.tag;
    }
    const sender = await deps.getSender(account.id);
    const [result] = await sendReplies(
      deps.pool,
      sender,
      {
        tenantId,
        channelAccountId: account.id,
        conversationId: conversation.id,
        to: { externalId: identity.externalId, type: "private" },
      },
      [reply],
      {
        key: `notification:${notificationId}`,
        ...(messageTag ? { context: { messageTag } } : {}),
      },
    );
    return {
      status: result?.status === "sent" ? "sent" : "failed",
      contactId: contact.id,
      channelAccountId: account.id,
      ...(result ? { messageId: result.id } : {}),
      ...(result?.status === "failed" ? { reason: JSON.stringify(result.error) } : {}),
    };
  }
  return { status: "skipped", reason: reasons.join("; ") || "no channel to try", contactId: contact.id };
}

/**
 * The `notify-event` task: the subject's events notify in order (in-order.ts), each thus: every
 * enabled rule for the event's type whose conditions hold sends its message (once: one
 * notification per event and rule), deferred through quiet hours, recorded, and announced as
 * notification.* events.
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
  if (!rules.length) return "done";

  const until = quietUntil(
    row.tenant.notificationSettings as Settings,
    row.tenant.timezone,
    deps.now?.() ?? new Date(),
  );
  if (until) {
    // Deferred, never dropped: the same job comes back when quiet hours end, in the order's
    // queue so that the order's events still notify one at a time, in order.
    await db.notification.createMany({
      data: rules.map((r) => ({
        tenantId: row.tenantId,
        orderEventId,
        ruleId: r.id,
        status: "deferred",
        reason: `quiet hours until ${until.toISOString()}`,
      })),
      skipDuplicates: true,
    });
    await helpers.addJob(
      NOTIFY_EVENT,
      { orderEventId },
      {
        runAt: until,
        jobKey: `notify:${orderEventId}:after-quiet`,
        queueName: subjectQueue(row.tenantId, row.subject),
      },
    );
    notificationsTotal.inc({ outcome: "deferred" }, rules.length);
    return "deferred";
  }

  for (const rule of rules) {
    await db.notification.createMany({
      data: [{ tenantId: row.tenantId, orderEventId, ruleId: rule.id }],
      skipDuplicates: true,
    });
    const notification = await db.notification.findUniqueOrThrow({
      where: { orderEventId_ruleId: { orderEventId, ruleId: rule.id } },
    });
    if (["sent", "failed", "skipped"].includes(notification.status)) continue;
    const outcome = await deliver(deps, row.tenantId, notification.id, rule, event);
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
        tenantId: row.tenantId,
        type: `notification.${outcome.status}`,
        data: { notificationId: notification.id, eventId: event.id, rule: rule.name, ...outcome },
      });
    });
  }
  return "done";
}
