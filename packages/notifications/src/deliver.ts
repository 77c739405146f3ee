import type { ChannelSender, Reply } from "@cb/core";
import { sendReplies } from "@cb/conversation";
import type { Db, Pool } from "@cb/db";
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

/** What to say, in each channel's terms: the text, and what may stand for it outside the 24-hour window. */
export interface OutgoingMessage {
  text: string;
  whatsapp?: { template: string; language: string; parameters?: string[] };
  messenger?: { tag: string };
}

export interface RuleTemplate {
  text: string;
  /** `parameters` are JSONPaths into the event. */
  whatsapp?: { template: string; language: string; parameters?: string[] };
  messenger?: { tag: string };
}

export type ContactMatch = { by: "customerId" | "phone" | "email"; path: string };

export type Outcome = {
  status: "sent" | "failed" | "skipped";
  reason?: string;
  contactId?: string;
  channelAccountId?: string;
  messageId?: string;
};

const WINDOW_MS = 24 * 3600_000;

/** A rule's template rendered over its event. */
export function ruleMessage(template: RuleTemplate, event: EventDocument): OutgoingMessage {
  return {
    text: renderText(template.text, event),
    ...(template.whatsapp
      ? {
          whatsapp: {
            ...template.whatsapp,
            parameters: (template.whatsapp.parameters ?? []).map((path) => String(firstValue(path, event) ?? "")),
          },
        }
      : {}),
    ...(template.messenger ? { messenger: template.messenger } : {}),
  };
}

/** The contact value a rule's match reads from an event (phones as E.164, e-mails in lower case), if any. */
export function contactValue(match: ContactMatch, event: EventDocument): string | undefined {
  const raw = firstValue(match.path, event);
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (match.by === "phone") return parsePhoneNumberFromString(String(raw))?.number ?? String(raw);
  if (match.by === "email") return String(raw).toLowerCase();
  return String(raw);
}

/** A rule's contact for an event, or the outcome that says why there is none. */
export async function ruleContact(db: Db, tenantId: string, match: ContactMatch, event: EventDocument) {
  const value = contactValue(match, event);
  if (value === undefined)
    return { outcome: { status: "skipped", reason: `no ${match.by} at ${match.path}` } as Outcome };
  const contact = await db.contact.findFirst({ where: { tenantId, [match.by]: value } });
  if (!contact) return { outcome: { status: "skipped", reason: `no contact with ${match.by} ${value}` } as Outcome };
  return { contact };
}

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
  const { db } = deps;
  const contact = await db.contact.findFirst({ where: { id: contactId, tenantId }, include: { identities: true } });
  if (!contact) return { status: "skipped", reason: "the contact was deleted" };
  if (contact.optedOutAt) return { status: "skipped", reason: "the contact opted out", contactId: contact.id };
  const accounts = await db.channelAccount.findMany({
    where: { id: { in: contact.identities.map((i) => i.channelAccountId) }, enabled: true },
  });
  const reasons: string[] = [];
  for (const channel of channelOrder) {
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
    const allowed = withinPlatformRules(channel, open, message);
    if ("refused" in allowed) {
      reasons.push(allowed.refused);
      continue;
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
      [allowed.reply],
      {
        key: `notification:${notificationId}`,
        ...(allowed.messageTag ? { context: { messageTag: allowed.messageTag } } : {}),
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

/** The reply a channel allows for the message, inside or outside the 24-hour window, or why none. */
export function withinPlatformRules(
  channel: string,
  open: boolean,
  message: OutgoingMessage,
): { reply: Reply; messageTag?: string } | { refused: string } {
  if (channel === "whatsapp" && !open) {
    if (!message.whatsapp) return { refused: "whatsapp: outside the 24-hour window and no approved template" };
    const parameters = (message.whatsapp.parameters ?? []).map((text) => ({ type: "text", text }));
    return {
      reply: {
        type: "template",
        name: message.whatsapp.template,
        language: message.whatsapp.language,
        ...(parameters.length ? { components: [{ type: "body", parameters }] } : {}),
      },
    };
  }
  if (channel === "messenger" && !open) {
    if (!message.messenger?.tag) return { refused: "messenger: outside the 24-hour window and no message tag" };
    return { reply: { type: "text", text: message.text }, messageTag: message.messenger.tag };
  }
  return { reply: { type: "text", text: message.text } };
}
