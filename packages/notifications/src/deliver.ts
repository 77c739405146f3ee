import { driverOf } from "@cb/channels";
import { notificationVerdict, type ChannelSender, type OutsideWindowContent, type Reply } from "@cb/core";
import { sendReplies } from "@cb/conversation";
import type { Db, Pool, Sql } from "@cb/db";
import type { Logger } from "@cb/logging";
import { parsePhoneNumberFromString } from "libphonenumber-js";
import { firstValue, renderText, type EventDocument } from "./rules.ts";

export interface NotifyDeps {
  db: Db;
  /** The pool under db, for sending (sendReplies). */
  pool: Pool;
  getSender(channelAccountId: string): Promise<ChannelSender>;
  now?: () => Date;
  /** Where a rule whose condition cannot be evaluated is reported. */
  logger?: Logger;
}

/**
 * What to say, in each channel's terms: the text, and under a channel's name what may stand for it
 * outside that channel's reply window (WhatsApp: a template; Messenger: a message tag).
 */
export type OutgoingMessage = { text: string } & { [channel: string]: OutsideWindowContent | string };

/** A rule's message; a template's `parameters` are JSONPaths into the event. */
export type RuleTemplate = OutgoingMessage;

export type ContactMatch = { by: "customerId" | "phone" | "email"; path: string };

export type Outcome = {
  status: "sent" | "failed" | "skipped";
  reason?: string;
  contactId?: string;
  channelAccountId?: string;
  messageId?: string;
};

/** A rule's template rendered over its event: the text, and its templates' parameters read from the event. */
export function ruleMessage(template: RuleTemplate, event: EventDocument): OutgoingMessage {
  const message: OutgoingMessage = { text: renderText(template.text, event) };
  for (const [channel, outside] of Object.entries(template)) {
    if (channel === "text" || typeof outside !== "object") continue;
    message[channel] =
      "template" in outside
        ? { ...outside, parameters: (outside.parameters ?? []).map((path) => String(firstValue(path, event) ?? "")) }
        : outside;
  }
  return message;
}

/** The contact value a rule's match reads from an event (phones as E.164, e-mails in lower case), if any. */
export function contactValue(match: ContactMatch, event: EventDocument): string | undefined {
  const raw = firstValue(match.path, event);
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (match.by === "phone") return parsePhoneNumberFromString(String(raw))?.number ?? String(raw);
  if (match.by === "email") return String(raw).toLowerCase();
  return String(raw);
}

// The columns a rule may match a contact by (ContactMatch["by"]); only these are put into the query.
const MATCH_COLUMNS = { customerId: `"customerId"`, phone: "phone", email: "email" } as const;

/** A rule's contact for an event, or the outcome that says why there is none. */
export async function ruleContact(sql: Sql, tenantId: string, match: ContactMatch, event: EventDocument) {
  const value = contactValue(match, event);
  if (value === undefined)
    return { outcome: { status: "skipped", reason: `no ${match.by} at ${match.path}` } as Outcome };
  const column = MATCH_COLUMNS[match.by];
  const { rows } = await sql.query<{ id: string; timezone: string | null }>({
    name: `rule-contact-${match.by}`,
    text: `SELECT id, timezone FROM "Contact" WHERE "tenantId" = $1::uuid AND ${column} = $2 LIMIT 1`,
    values: [tenantId, value],
  });
  const contact = rows[0];
  if (!contact) return { outcome: { status: "skipped", reason: `no contact with ${match.by} ${value}` } as Outcome };
  return { contact };
}

// The contact (of the tenant) and where it can be reached: its identities on enabled accounts,
// oldest first.
const REACHABLE = `
SELECT k.id, k."optedOutAt" IS NOT NULL AS "optedOut",
  COALESCE(json_agg(json_build_object('channel', a.channel, 'channelAccountId', a.id, 'externalId', i."externalId")
    ORDER BY i."createdAt") FILTER (WHERE a.id IS NOT NULL), '[]') AS reachable
FROM "Contact" k
  LEFT JOIN "ContactIdentity" i ON i."contactId" = k.id
  LEFT JOIN "ChannelAccount" a ON a.id = i."channelAccountId" AND a.enabled
WHERE k.id = $1::uuid AND k."tenantId" = $2::uuid
GROUP BY k.id`;

// The conversation with that identity on that account, created when there is none yet: one
// statement, which writes nothing when it exists (a concurrent creation is met by the no-op update).
const CONVERSATION = `
WITH found AS (
  SELECT id, "lastInboundAt" FROM "Conversation" WHERE "channelAccountId" = $2::uuid AND "externalId" = $3
), created AS (
  INSERT INTO "Conversation" (id, "tenantId", "channelAccountId", "externalId")
  SELECT gen_random_uuid(), $1::uuid, $2::uuid, $3 WHERE NOT EXISTS (SELECT 1 FROM found)
  ON CONFLICT ("channelAccountId", "externalId") DO UPDATE SET "lastInboundAt" = "Conversation"."lastInboundAt"
  RETURNING id, "lastInboundAt"
)
SELECT * FROM found UNION ALL SELECT * FROM created`;

/**
 * Sends a message to a contact on the first channel of `channelOrder` where the platform's rules allow
 * it, once (outbound rows keyed `notification:<id>`): WhatsApp and Messenger allow free-form messages
 * only within 24 hours of the customer's last message; outside it, an approved template or a
 * permitted tag, or the next channel. A contact who opted out gets nothing.
 */
export async function deliverTo(
  deps: NotifyDeps,
  tenantId: string,
  notificationId: string,
  contactId: string,
  message: OutgoingMessage,
  channelOrder: string[],
): Promise<Outcome> {
  const { rows } = await deps.pool.query<{
    id: string;
    optedOut: boolean;
    reachable: { channel: string; channelAccountId: string; externalId: string }[];
  }>({ name: "notify-reachable", text: REACHABLE, values: [contactId, tenantId] });
  const contact = rows[0];
  if (!contact) return { status: "skipped", reason: "the contact was deleted" };
  if (contact.optedOut) return { status: "skipped", reason: "the contact opted out", contactId: contact.id };
  const reasons: string[] = [];
  for (const channel of channelOrder) {
    const identity = contact.reachable.find((r) => r.channel === channel);
    if (!identity) {
      reasons.push(`${channel}: not reachable there`);
      continue;
    }
    const { channelAccountId, externalId } = identity;
    const {
      rows: [conversation],
    } = await deps.pool.query<{ id: string; lastInboundAt: Date | null }>({
      name: "notify-conversation",
      text: CONVERSATION,
      values: [tenantId, channelAccountId, externalId],
    });
    const allowed = withinPlatformRules(channel, conversation!.lastInboundAt, deps.now?.() ?? new Date(), message);
    if ("refused" in allowed) {
      reasons.push(allowed.refused);
      continue;
    }
    const sender = await deps.getSender(channelAccountId);
    const [result] = await sendReplies(
      deps.pool,
      sender,
      {
        tenantId,
        channelAccountId,
        conversationId: conversation!.id,
        to: { externalId, type: "private" },
      },
      [allowed.reply],
      {
        key: `notification:${notificationId}`,
        ...(allowed.messageTag ? { context: { messageTag: allowed.messageTag } } : {}),
      },
    );
    return {
      status: result?.status === "sent" ? "sent" : "failed",
      contactId: contact.id,
      channelAccountId,
      ...(result ? { messageId: result.id } : {}),
      ...(result?.status === "failed" ? { reason: JSON.stringify(result.error) } : {}),
    };
  }
  return { status: "skipped", reason: reasons.join("; ") || "no channel to try", contactId: contact.id };
}

/**
 * The reply a channel allows for the message, inside or outside its reply window (its driver's
 * messaging policy), or why none: outside, the message's field for that channel (a template, a tag).
 */
export function withinPlatformRules(
  channel: string,
  lastInboundAt: Date | null,
  now: Date,
  message: OutgoingMessage,
): { reply: Reply; messageTag?: string } | { refused: string } {
  const driver = driverOf(channel);
  if (!driver) return { refused: `${channel}: no such channel is installed` };
  const since = lastInboundAt ? now.getTime() - lastInboundAt.getTime() : Number.POSITIVE_INFINITY;
  const verdict = notificationVerdict(driver, since, message.text, message[channel] as OutsideWindowContent);
  if (!verdict.ok) return { refused: verdict.reason };
  return verdict.messageTag ? { reply: verdict.reply, messageTag: verdict.messageTag } : { reply: verdict.reply };
}
