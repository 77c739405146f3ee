import type { DeliveryState, InboundEvent, InboundMessage, MediaKind } from "@cb/core";

/** The parts of a Cloud API webhook (entry[].changes[].value) this adapter reads. */
interface WaMessage {
  id: string;
  from: string;
  timestamp: string;
  type: string;
  context?: { id?: string };
  text?: { body: string };
  interactive?: {
    type: string;
    button_reply?: { id: string; title: string };
    list_reply?: { id: string; title: string };
  };
  button?: { payload: string; text: string };
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  contacts?: { name?: { formatted_name?: string }; phones?: { phone?: string }[]; emails?: { email?: string }[] }[];
  reaction?: { message_id: string; emoji: string };
  [media: string]: unknown;
}

interface WaStatus {
  id: string;
  status: string;
  timestamp: string;
  recipient_id: string;
  errors?: { code: number; title?: string; message?: string }[];
}

interface WaValue {
  contacts?: { wa_id: string; profile?: { name?: string } }[];
  messages?: WaMessage[];
  statuses?: WaStatus[];
}

const MEDIA: MediaKind[] = ["image", "audio", "video", "document", "sticker"];
const at = (timestamp: string) => new Date(Number(timestamp) * 1000).toISOString();

function normalizeMessage(m: WaMessage, names: Map<string, string>): InboundMessage {
  const message: InboundMessage = {
    channel: "whatsapp",
    // wamid: unique per message, so Meta's redelivery of a webhook is stored once.
    platformEventId: m.id,
    platformMessageId: m.id,
    conversation: { externalId: m.from, type: "private" },
    sender: { externalId: m.from, phone: `+${m.from}`, ...(names.get(m.from) ? { name: names.get(m.from)! } : {}) },
    sentAt: at(m.timestamp),
    addressedToBot: true,
    ...(m.context?.id ? { replyTo: m.context.id } : {}),
  };
  if (m.text) message.text = m.text.body;
  const choice = m.interactive?.button_reply ?? m.interactive?.list_reply;
  if (choice) message.postback = { payload: choice.id, title: choice.title };
  // A quick-reply button of a template message.
  if (m.button) message.postback = { payload: m.button.payload, title: m.button.text };
  if (MEDIA.includes(m.type as MediaKind)) {
    const media = m[m.type] as { id?: string; mime_type?: string; caption?: string; filename?: string } | undefined;
    if (media) {
      message.media = [
        {
          kind: m.type as MediaKind,
          ...(media.id ? { id: media.id } : {}),
          ...(media.mime_type ? { mimeType: media.mime_type } : {}),
          ...(media.caption ? { caption: media.caption } : {}),
          ...(media.filename ? { fileName: media.filename } : {}),
        },
      ];
      if (media.caption) message.text = media.caption;
    }
  }
  if (m.location)
    message.location = {
      latitude: m.location.latitude,
      longitude: m.location.longitude,
      ...(m.location.name ? { name: m.location.name } : {}),
      ...(m.location.address ? { address: m.location.address } : {}),
    };
  if (m.contacts) {
    message.contacts = m.contacts.map((c) => ({
      name: c.name?.formatted_name ?? "",
      phones: (c.phones ?? []).map((p) => p.phone ?? "").filter(Boolean),
      ...(c.emails?.length ? { emails: c.emails.map((e) => e.email ?? "").filter(Boolean) } : {}),
    }));
  }
  if (m.reaction) message.reaction = { emoji: m.reaction.emoji, messageId: m.reaction.message_id };
  return message;
}

const STATES: Record<string, DeliveryState> = { sent: "sent", delivered: "delivered", read: "read", failed: "failed" };

/** A Cloud API webhook body → the shared model: every message and status of every entry and change. */
export function normalize(body: unknown): InboundEvent[] {
  const events: InboundEvent[] = [];
  const entries = (body as { entry?: { changes?: { field?: string; value?: WaValue }[] }[] }).entry ?? [];
  for (const entry of entries) {
    for (const change of entry.changes ?? []) {
      const value = change.value;
      if (change.field !== "messages" || !value) continue;
      const names = new Map((value.contacts ?? []).map((c) => [c.wa_id, c.profile?.name ?? ""]));
      for (const m of value.messages ?? [])
        events.push({ type: "message", message: normalizeMessage(m, names), raw: { ...value, messages: [m] } });
      for (const s of value.statuses ?? []) {
        const state = STATES[s.status];
        if (!state) continue;
        const error = s.errors?.[0];
        events.push({
          type: "status",
          status: {
            channel: "whatsapp",
            platformMessageId: s.id,
            state,
            at: at(s.timestamp),
            ...(error ? { error: { code: String(error.code), message: error.message ?? error.title ?? "" } } : {}),
          },
          raw: s,
        });
      }
    }
  }
  return events;
}
