import type { InboundMessage, LimitsStore, Reply } from "@cb/core";
import { render, type WidgetContent } from "./render.ts";

/** One message as the widget gets it, on its stream and in its history. */
export interface WidgetMessage {
  id: string;
  from: "visitor" | "bot";
  /** When it was stored (ISO 8601). */
  at: string;
  content: WidgetContent[];
  /** The widget's own id of a visitor's message, so the widget knows the echo of what it showed. */
  clientId?: string;
}

export interface StoredMessage {
  id: string;
  direction: "in" | "out";
  status: string;
  content: unknown;
  platformMessageId: string | null;
  createdAt: Date;
  /** The cursor: a message is (again) worth telling once this moves (stored, sent). */
  updatedAt: Date;
}

// What a visitor sees: everything they wrote, and the replies once sent (not those pending or failed).
const VISIBLE = `(m.direction = 'in' OR m.status IN ('sent', 'delivered', 'read'))`;
const COLUMNS = `m.id, m.direction, m.status, m.content, m."platformMessageId", m."createdAt", m."updatedAt"`;
/** The history shown when a widget opens, and the most a reconnection replays. */
export const HISTORY = 50;
export const REPLAY = 200;
// A row whose update committed a moment after a later one's may carry the earlier time: a
// reconnection replays this much before its cursor, and the widget drops what it already has.
const REPLAY_OVERLAP_MS = 2000;

/**
 * The conversation's stored messages a widget is shown. Without a cursor, the latest HISTORY; with
 * one (the last event id it saw), what was stored or sent since, oldest first. (The web role's
 * pool gives every statement its time limit.)
 */
export async function readMessages(
  pool: LimitsStore,
  conversationId: string,
  cursor: number | undefined,
): Promise<StoredMessage[]> {
  const query =
    cursor === undefined
      ? {
          name: "webchat-history",
          text: `SELECT * FROM (SELECT ${COLUMNS} FROM "Message" m WHERE m."conversationId" = $1::uuid AND ${VISIBLE}
                 ORDER BY m."createdAt" DESC, m.id DESC LIMIT ${HISTORY}) latest ORDER BY "createdAt", id`,
          values: [conversationId],
        }
      : {
          name: "webchat-replay",
          text: `SELECT ${COLUMNS} FROM "Message" m WHERE m."conversationId" = $1::uuid AND ${VISIBLE}
                 AND m."updatedAt" > $2::timestamptz ORDER BY m."createdAt", m.id LIMIT ${REPLAY}`,
          values: [conversationId, new Date(cursor - REPLAY_OVERLAP_MS).toISOString()],
        };
  return (await pool.query(query)).rows as unknown as StoredMessage[];
}

/** One message, if it is the conversation's and the visitor may see it (a live event names it). */
export async function readMessage(
  pool: LimitsStore,
  conversationId: string,
  messageId: string,
): Promise<StoredMessage | undefined> {
  const { rows } = await pool.query({
    name: "webchat-message",
    text: `SELECT ${COLUMNS} FROM "Message" m WHERE m.id = $1::uuid AND m."conversationId" = $2::uuid AND ${VISIBLE}`,
    values: [messageId, conversationId],
  });
  return rows[0] as unknown as StoredMessage | undefined;
}

/** The visitor's conversation on the account, once their first message is stored. */
export async function findConversation(
  pool: LimitsStore,
  accountId: string,
  externalId: string,
): Promise<string | undefined> {
  const { rows } = await pool.query({
    name: "webchat-conversation",
    text: `SELECT id FROM "Conversation" WHERE "channelAccountId" = $1::uuid AND "externalId" = $2`,
    values: [accountId, externalId],
  });
  return rows[0]?.id as string | undefined;
}

/** Whose conversation an id is (for streams waiting for their visitor's first message). */
export async function conversationOwner(
  pool: LimitsStore,
  conversationId: string,
): Promise<{ accountId: string; externalId: string } | undefined> {
  const { rows } = await pool.query({
    name: "webchat-conversation-owner",
    text: `SELECT "channelAccountId" AS "accountId", "externalId" FROM "Conversation" WHERE id = $1::uuid`,
    values: [conversationId],
  });
  return rows[0] as { accountId: string; externalId: string } | undefined;
}

/** Whether a message of the visitor's still waits for its turn: the widget shows the bot typing. */
export async function botWorking(pool: LimitsStore, conversationId: string): Promise<boolean> {
  const { rows } = await pool.query({
    name: "webchat-working",
    text: `SELECT EXISTS (SELECT 1 FROM "Message" WHERE "conversationId" = $1::uuid AND direction = 'in' AND status = 'received') AS working`,
    values: [conversationId],
  });
  return rows[0]?.working === true;
}

/** A stored row → what the widget shows; a reply it cannot show (it was refused when sent) shows nothing. */
export function toWidget(row: StoredMessage): WidgetMessage {
  const at = new Date(row.createdAt).toISOString();
  if (row.direction === "in") {
    const message = row.content as InboundMessage;
    const text = message.text ?? message.postback?.title ?? message.postback?.payload ?? "";
    return {
      id: row.id,
      from: "visitor",
      at,
      content: text ? [{ type: "text", text }] : [],
      ...(row.platformMessageId ? { clientId: row.platformMessageId } : {}),
    };
  }
  let content: WidgetContent[] = [];
  try {
    content = render(row.content as Reply);
  } catch {
    // The sender refuses such a reply, so it is never sent; a row sent under other limits (an older
    // version) shows as nothing rather than breaking the stream.
  }
  return { id: row.id, from: "bot", at, content };
}
