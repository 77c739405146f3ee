import { driverOf } from "@cb/channels";
import type { InboundMessage } from "@cb/core";

/**
 * The events a message fires as Dialogflow's integrations fire them, most specific first, as the
 * channel's driver names them (Telegram's /start fires TELEGRAM_WELCOME, Messenger's Get Started
 * button FACEBOOK_WELCOME, a first visit to a Slack app's Messages tab SLACK_WELCOME; all then
 * WELCOME). A follow-up scheduled by a fulfillment fires its own event.
 */
export function welcomeEvents(message: InboundMessage): string[] {
  // A scheduled follow-up's event (a fulfillment's payload.schedule).
  if (message.event) return [message.event.name];
  return driverOf(message.channel)?.dialogflow.welcomeEvents?.(message) ?? [];
}
