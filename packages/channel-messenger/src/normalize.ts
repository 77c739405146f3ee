import type { InboundEvent, InboundMessage, MediaKind } from "@cb/core";

interface MessagingEvent {
  sender: { id: string };
  recipient: { id: string };
  timestamp?: number;
  message?: {
    mid: string;
    text?: string;
    is_echo?: boolean;
    quick_reply?: { payload: string };
    reply_to?: { mid: string };
    attachments?: {
      type: string;
      payload?: { url?: string; coordinates?: { lat: number; long: number }; title?: string };
    }[];
  };
  postback?: { mid?: string; title?: string; payload: string };
  delivery?: { mids?: string[]; watermark: number };
  read?: { watermark: number };
}

const KINDS: Record<string, MediaKind> = { image: "image", audio: "audio", video: "video", file: "document" };

function message(e: MessagingEvent, id: string): InboundMessage {
  return {
    channel: "messenger",
    platformEventId: id,
    platformMessageId: id,
    conversation: { externalId: e.sender.id, type: "private" },
    sender: { externalId: e.sender.id },
    sentAt: new Date(e.timestamp ?? Date.now()).toISOString(),
    addressedToBot: true,
  };
}

export function normalizeEvent(e: MessagingEvent): InboundEvent[] {
  // The page's own messages come back as echoes: not the customer talking. A sender known only by a
  // plugin's user_ref has no conversation to answer in (and would be stored without an id).
  if (e.message?.is_echo || !e.sender?.id) return [];
  if (e.message) {
    const m = message(e, e.message.mid);
    if (e.message.text !== undefined) m.text = e.message.text;
    if (e.message.quick_reply)
      m.postback = { payload: e.message.quick_reply.payload, ...(e.message.text ? { title: e.message.text } : {}) };
    if (e.message.reply_to) m.replyTo = e.message.reply_to.mid;
    for (const a of e.message.attachments ?? []) {
      if (a.type === "location" && a.payload?.coordinates)
        m.location = {
          latitude: a.payload.coordinates.lat,
          longitude: a.payload.coordinates.long,
          ...(a.payload.title ? { name: a.payload.title } : {}),
        };
      const kind = KINDS[a.type];
      if (kind) {
        m.media ??= [];
        m.media.push({ kind, ...(a.payload?.url ? { url: a.payload.url } : {}) });
      }
    }
    return [{ type: "message", message: m, raw: e }];
  }
  if (e.postback) {
    // Postbacks have carried a mid only since 2020; the sender and time identify older ones.
    const m = message(e, e.postback.mid ?? `postback:${e.sender.id}:${e.timestamp}`);
    m.postback = { payload: e.postback.payload, ...(e.postback.title ? { title: e.postback.title } : {}) };
    return [{ type: "message", message: m, raw: e }];
  }
  if (e.delivery) {
    const at = new Date(e.delivery.watermark).toISOString();
    return (e.delivery.mids ?? []).map((mid) => ({
      type: "status",
      status: { channel: "messenger", platformMessageId: mid, state: "delivered", at },
      raw: e,
    }));
  }
  if (e.read)
    return [
      {
        type: "read",
        read: {
          channel: "messenger",
          conversationExternalId: e.sender.id,
          upTo: new Date(e.read.watermark).toISOString(),
        },
        raw: e,
      },
    ];
  return [];
}

/** A Messenger webhook body (object "page") → the shared model, every entry's every event. */
export function normalize(body: unknown): InboundEvent[] {
  const entries = (body as { entry?: { messaging?: MessagingEvent[] }[] }).entry ?? [];
  return entries.flatMap((entry) => (entry.messaging ?? []).flatMap(normalizeEvent));
}

// Payloads pages give Messenger's Get Started button: Dialogflow's own and the common convention.
const GET_STARTED = /^(?:facebook_welcome|get_started)$/i;

/** Dialogflow's Messenger integration: the Get Started button fires FACEBOOK_WELCOME, then WELCOME. */
export function welcomeEvents(message: InboundMessage): string[] {
  return message.postback && GET_STARTED.test(message.postback.payload) ? ["FACEBOOK_WELCOME", "WELCOME"] : [];
}
