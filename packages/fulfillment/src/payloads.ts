import type { Channel, Reply } from "@cb/core";
import { PAYLOAD_KEY } from "./dialogflow.ts";

type Payload = Record<string, unknown>;
const isObject = (v: unknown): v is Payload => typeof v === "object" && v !== null && !Array.isArray(v);

// Dialogflow's Telegram integration sends its payload without naming a Bot API method: the method
// follows from the field it carries (hand-written: no library knows this convention).
const TELEGRAM_METHODS: [field: string, method: string][] = [
  ["photo", "sendPhoto"],
  ["audio", "sendAudio"],
  ["document", "sendDocument"],
  ["video", "sendVideo"],
  ["animation", "sendAnimation"],
  ["voice", "sendVoice"],
  ["sticker", "sendSticker"],
  ["latitude", "sendLocation"],
  ["text", "sendMessage"],
];

/** A Telegram payload as the Bot API call the Telegram sender makes: `method` plus its parameters. */
function telegramCall(payload: Payload): Payload | undefined {
  if (typeof payload.method === "string") return payload;
  const method = TELEGRAM_METHODS.find(([field]) => payload[field] !== undefined)?.[1];
  return method ? { method, ...payload } : undefined;
}

/**
 * A Dialogflow custom payload (keyed by platform: `telegram`, `facebook`, `slack`, or `whatsapp`
 * here) as the custom reply for one channel, if it holds one for that channel. Telegram's is
 * Dialogflow's Telegram format ({ text, reply_markup, parse_mode } or a media field), Messenger's
 * a Send API `message` object (text, attachment templates, quick_replies), Slack's a
 * chat.postMessage body (text, attachments, blocks).
 */
export function platformPayload(payload: Payload | undefined, channel: Channel): Reply | undefined {
  const own = payload?.[PAYLOAD_KEY[channel]] ?? payload?.[channel];
  if (!isObject(own)) return undefined;
  const body = channel === "telegram" ? telegramCall(own) : own;
  return body ? { type: "custom", channel, payload: body } : undefined;
}
