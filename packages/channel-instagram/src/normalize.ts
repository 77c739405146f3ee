import type { InboundEvent, InboundMessage, MediaKind } from "@cb/core";

/** One `entry[].messaging[]` element of an `object: "instagram"` webhook. */
interface MessagingEvent {
  sender: { id: string };
  recipient: { id: string };
  timestamp?: number;
  message?: {
    mid: string;
    text?: string;
    is_echo?: boolean;
    is_deleted?: boolean;
    is_unsupported?: boolean;
    quick_reply?: { payload: string };
    reply_to?: { mid?: string; story?: { id: string; url?: string } };
    attachments?: { type: string; payload?: { url?: string } }[];
  };
  postback?: { mid?: string; title?: string; payload: string };
  reaction?: { mid: string; action: "react" | "unreact"; reaction?: string; emoji?: string };
  read?: { mid?: string };
}

// A story mention arrives as an attachment holding the story's CDN URL; a story is a picture or a
// video, and the webhook does not say which: it is kept as an image, its URL with it.
const KINDS: Record<string, MediaKind> = {
  image: "image",
  audio: "audio",
  video: "video",
  file: "document",
  ig_reel: "video",
  story_mention: "image",
};

const at = (e: MessagingEvent) => new Date(e.timestamp ?? Date.now()).toISOString();

function message(e: MessagingEvent, id: string, messageId?: string): InboundMessage {
  return {
    channel: "instagram",
    platformEventId: id,
    ...(messageId ? { platformMessageId: messageId } : {}),
    conversation: { externalId: e.sender.id, type: "private" },
    sender: { externalId: e.sender.id },
    sentAt: at(e),
    addressedToBot: true,
  };
}

function event(e: MessagingEvent): InboundEvent[] {
  // The account's own messages come back as echoes; an unsent (deleted) message or one Instagram
  // cannot show through the API is not the customer saying anything.
  if (!e.sender?.id || e.message?.is_echo || e.message?.is_deleted || e.message?.is_unsupported) return [];
  if (e.message) {
    const m = message(e, e.message.mid, e.message.mid);
    if (e.message.text !== undefined) m.text = e.message.text;
    if (e.message.quick_reply)
      m.postback = { payload: e.message.quick_reply.payload, ...(e.message.text ? { title: e.message.text } : {}) };
    // A reply to the business's story names the story; a reply to a message, the message.
    const replyTo = e.message.reply_to?.story?.id ?? e.message.reply_to?.mid;
    if (replyTo) m.replyTo = replyTo;
    const story = e.message.reply_to?.story?.url;
    for (const a of [
      ...(e.message.attachments ?? []),
      ...(story ? [{ type: "image", payload: { url: story } }] : []),
    ]) {
      const kind = KINDS[a.type];
      if (!kind) continue;
      m.media ??= [];
      m.media.push({ kind, ...(a.payload?.url ? { url: a.payload.url } : {}) });
    }
    return [{ type: "message", message: m, raw: e }];
  }
  if (e.postback) {
    // Generic template buttons and ice breakers; their mid came with Graph API v11.
    const id = e.postback.mid ?? `postback:${e.sender.id}:${e.timestamp}`;
    const m = message(e, id);
    m.postback = { payload: e.postback.payload, ...(e.postback.title ? { title: e.postback.title } : {}) };
    return [{ type: "message", message: m, raw: e }];
  }
  if (e.reaction) {
    // An unreact carries no emoji: the reaction is withdrawn, as WhatsApp's empty emoji says.
    const m = message(e, `reaction:${e.sender.id}:${e.reaction.mid}:${e.reaction.action}:${e.timestamp}`);
    m.reaction = { emoji: e.reaction.action === "react" ? (e.reaction.emoji ?? "") : "", messageId: e.reaction.mid };
    return [{ type: "message", message: m, raw: e }];
  }
  if (e.read)
    // Seen: everything sent to the customer up to that moment is read.
    return [{ type: "read", read: { channel: "instagram", conversationExternalId: e.sender.id, upTo: at(e) }, raw: e }];
  return [];
}

/** An Instagram webhook body (object "instagram") → the shared model, every entry's every event. */
export function normalize(body: unknown): InboundEvent[] {
  const entries = (body as { entry?: { messaging?: MessagingEvent[] }[] }).entry ?? [];
  return entries.flatMap((entry) => (entry.messaging ?? []).flatMap(event));
}
