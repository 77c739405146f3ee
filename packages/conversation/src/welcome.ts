import type { InboundMessage } from "@cb/core";

// Payloads pages give Messenger's Get Started button: Dialogflow's own and the common convention.
const GET_STARTED = /^(?:facebook_welcome|get_started)$/i;

/**
 * The events a message fires as Dialogflow's integrations fire them, most specific first: Telegram's
 * /start fires TELEGRAM_WELCOME, Messenger's Get Started button FACEBOOK_WELCOME; both then WELCOME.
 * A follow-up scheduled by a fulfillment fires its own event.
 */
export function welcomeEvents(message: InboundMessage): string[] {
  // A scheduled follow-up's event (a fulfillment's payload.schedule).
  if (message.event) return [message.event.name];
  if (message.channel === "telegram" && message.command?.name === "start") return ["TELEGRAM_WELCOME", "WELCOME"];
  if (message.channel === "messenger" && message.postback && GET_STARTED.test(message.postback.payload))
    return ["FACEBOOK_WELCOME", "WELCOME"];
  return [];
}
