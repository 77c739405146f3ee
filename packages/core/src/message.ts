/**
 * The one message model every channel adapter normalizes into. Adapters keep the platform's own
 * payload in `raw` so fulfillment can still see what only that platform has.
 */
/**
 * A channel's name: a registered driver's `name` (@cb/channels lists them). A string here, so that
 * adding a channel touches only its package and the registry.
 */
export type Channel = string;

export interface Party {
  /** The platform's id: Telegram user id, WhatsApp phone (wa_id), Messenger PSID, Slack user id. */
  externalId: string;
  name?: string;
  username?: string;
  phone?: string;
}

export interface ConversationRef {
  /** The platform's id of the chat the reply goes to (Telegram chat id, wa_id, PSID, Slack channel). */
  externalId: string;
  type: "private" | "group";
  /** Slack thread_ts, Telegram forum topic: replies go there. */
  threadId?: string;
}

export type MediaKind = "image" | "audio" | "video" | "document" | "sticker";

export interface Media {
  kind: MediaKind;
  /** Platform media id (WhatsApp media id, Telegram file_id), fetched on demand. */
  id?: string;
  url?: string;
  mimeType?: string;
  fileName?: string;
  caption?: string;
}

export interface Location {
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
}

export interface SharedContact {
  name: string;
  phones: string[];
  emails?: string[];
}

/** What a customer sent, in any channel. */
export interface InboundMessage {
  channel: Channel;
  /** Unique per platform account for this delivery: makes redelivery idempotent. */
  platformEventId: string;
  platformMessageId?: string;
  conversation: ConversationRef;
  sender: Party;
  /** When the platform says the message was sent (ISO 8601). */
  sentAt: string;
  text?: string;
  /** A button or quick-reply press: the payload the bot put on it. */
  postback?: { payload: string; title?: string };
  media?: Media[];
  location?: Location;
  contacts?: SharedContact[];
  reaction?: { emoji: string; messageId: string };
  /** A command such as /start (without the slash or bot name), with its argument text. */
  command?: { name: string; args: string };
  /** The platform message this one edits. */
  editOf?: string;
  /** The platform message this one replies to. */
  replyTo?: string;
  /** In a group, whether the bot was addressed (mention, command, reply to the bot). */
  addressedToBot?: boolean;
  /**
   * Not from the platform: a scheduled follow-up's event (a fulfillment's `payload.schedule`), which
   * triggers the intent that lists it, with its parameters.
   */
  event?: { name: string; parameters: Record<string, unknown> };
}

export type DeliveryState = "sent" | "delivered" | "read" | "failed";

/** A platform's report on a message the bot sent. */
export interface DeliveryStatus {
  channel: Channel;
  platformMessageId: string;
  state: DeliveryState;
  at: string;
  error?: { code: string; message: string };
}

/** Messenger reports reads as a watermark: everything sent to the user up to a time is read. */
export interface ReadWatermark {
  channel: Channel;
  conversationExternalId: string;
  upTo: string;
}

/** What an adapter makes of one webhook request: zero or more of these. */
export type InboundEvent =
  | { type: "message"; message: InboundMessage; raw: unknown }
  | { type: "status"; status: DeliveryStatus; raw: unknown }
  | { type: "read"; read: ReadWatermark; raw: unknown };
