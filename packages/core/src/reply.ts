import type { Channel } from "./message.ts";

/**
 * The one reply model; each channel renders it within its platform's limits and degrades
 * gracefully where a platform lacks a feature.
 */
export type Button = { type: "postback"; title: string; payload: string } | { type: "url"; title: string; url: string };

export interface QuickReply {
  title: string;
  payload: string;
}

export interface Card {
  title: string;
  subtitle?: string;
  imageUrl?: string;
  buttons?: Button[];
}

export type Reply =
  | { type: "text"; text: string; quickReplies?: QuickReply[] }
  | { type: "buttons"; text: string; buttons: Button[] }
  | { type: "cards"; cards: Card[] }
  | { type: "image"; url: string; caption?: string }
  /**
   * A pre-approved message template (WhatsApp: the only kind allowed outside the 24-hour
   * customer-service window). `components` as the platform's API takes them.
   */
  | { type: "template"; name: string; language: string; components?: Record<string, unknown>[] }
  /** Sent as is to one channel's API; other channels skip it. */
  | { type: "custom"; channel: Channel; payload: Record<string, unknown> };

/** What a platform answered when a reply was sent. */
export interface SentMessage {
  platformMessageId: string;
  raw: unknown;
}

/**
 * An intent's own response; `platform` keeps it to one channel (Dialogflow's message platform), and a
 * text may carry Dialogflow's several `variants`.
 */
export type IntentResponse = Reply & { platform?: Channel; variants?: string[] };

/**
 * Dialogflow's rule for an intent's responses: a channel's own responses are used on it when it has
 * any, the platform-independent ones otherwise (and never another channel's).
 */
export function responsesFor(responses: IntentResponse[], channel: Channel): Reply[] {
  const own = responses.filter((r) => r.platform === channel);
  return (own.length ? own : responses.filter((r) => r.platform === undefined)).map(
    ({ platform: _, ...reply }) => reply as Reply,
  );
}
