import { driverOf } from "@cb/channels";
import type { Channel, Reply } from "@cb/core";
import { payloadKey } from "./dialogflow.ts";

type Payload = Record<string, unknown>;
const isObject = (v: unknown): v is Payload => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A Dialogflow custom payload (keyed by platform: `telegram`, `facebook`, `slack`, or `whatsapp`
 * here: each driver's `dialogflow.payloadKey`) as the custom reply for one channel, if it holds one
 * for that channel. Telegram's is Dialogflow's Telegram format ({ text, reply_markup, parse_mode }
 * or a media field), Messenger's a Send API `message` object (text, attachment templates,
 * quick_replies), Slack's a chat.postMessage body (text, attachments, blocks).
 */
export function platformPayload(payload: Payload | undefined, channel: Channel): Reply | undefined {
  const own = payload?.[payloadKey(channel)] ?? payload?.[channel];
  if (!isObject(own)) return undefined;
  // Some channels' Dialogflow payloads are not yet what their sender takes (Telegram's name no method).
  const adapt = driverOf(channel)?.dialogflow.customPayload;
  const body = adapt ? adapt(own) : own;
  return body ? { type: "custom", channel, payload: body } : undefined;
}
