import type { Db } from "@cb/db";

export interface OptSettings {
  optOutWords?: string[];
  optInWords?: string[];
  optOutReply?: string;
  optInReply?: string;
}

const normalize = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N} ]/gu, "")
    .trim();

/**
 * A customer who writes STOP (or one of the tenant's words) gets no more notifications until they
 * write START (or the tenant's word). Someone not yet a contact becomes one, so the choice sticks.
 * Returns the confirmation to send, or null when the text is no such keyword.
 */
export async function handleOptKeywords(
  db: Db,
  input: { tenantId: string; channelAccountId: string; externalId: string; text: string; settings: OptSettings },
): Promise<string | null> {
  const word = normalize(input.text);
  const out = (input.settings.optOutWords ?? ["stop", "unsubscribe"]).map(normalize).includes(word);
  const back = !out && (input.settings.optInWords ?? ["start", "unstop", "subscribe"]).map(normalize).includes(word);
  if (!out && !back) return null;
  let identity = await db.contactIdentity.findUnique({
    where: { channelAccountId_externalId: { channelAccountId: input.channelAccountId, externalId: input.externalId } },
    include: { contact: true },
  });
  // START from someone who never opted out is just a message (a greeting, a bot's start button).
  if (back && !identity?.contact.optedOutAt) return null;
  if (!identity && out) {
    const contact = await db.contact.create({ data: { tenantId: input.tenantId } });
    identity = await db.contactIdentity.create({
      data: {
        tenantId: input.tenantId,
        contactId: contact.id,
        channelAccountId: input.channelAccountId,
        externalId: input.externalId,
      },
      include: { contact: true },
    });
  }
  if (identity)
    await db.contact.update({ where: { id: identity.contactId }, data: { optedOutAt: out ? new Date() : null } });
  return out
    ? (input.settings.optOutReply ?? "You won't get notifications from us anymore. Send START to get them again.")
    : (input.settings.optInReply ?? "Notifications are back on. Send STOP to turn them off.");
}
