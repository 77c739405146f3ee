import type { Reply } from "@cb/core";
import { channelDrivers } from "@cb/channels";
import { payloadKey, type Message } from "./dialogflow.ts";

// A template reply is kept under the payload key of the channel that has templates (WhatsApp).
const TEMPLATE_KEY = channelDrivers.find((d) => d.policy.templates)?.dialogflow.payloadKey ?? "template";

/**
 * Replies in Dialogflow's message format, as a WebhookRequest's queryResult.fulfillmentMessages
 * carries an intent's own responses (the inverse of toReplies).
 */
export function toMessages(replies: Reply[]): Message[] {
  return replies.map(toMessage);
}

function toMessage(reply: Reply): Message {
  switch (reply.type) {
    case "text":
      return reply.quickReplies?.length
        ? { quickReplies: { title: reply.text, quickReplies: reply.quickReplies.map((q) => q.title) } }
        : { text: { text: [reply.text] } };
    case "buttons":
      return {
        card: {
          title: reply.text,
          buttons: reply.buttons.map((b) => ({ text: b.title, postback: b.type === "url" ? b.url : b.payload })),
        },
      };
    case "cards": {
      // Dialogflow's card is one card; a carousel is its first (the rest have no equivalent).
      const card = reply.cards[0];
      return {
        card: {
          title: card?.title ?? "",
          ...(card?.subtitle ? { subtitle: card.subtitle } : {}),
          ...(card?.imageUrl ? { imageUri: card.imageUrl } : {}),
          buttons: (card?.buttons ?? []).map((b) => ({
            text: b.title,
            postback: b.type === "url" ? b.url : b.payload,
          })),
        },
      };
    }
    case "image":
      return { image: { imageUri: reply.url, ...(reply.caption ? { accessibilityText: reply.caption } : {}) } };
    case "template":
      return {
        payload: {
          [TEMPLATE_KEY]: {
            template: {
              name: reply.name,
              language: reply.language,
              ...(reply.components ? { components: reply.components } : {}),
            },
          },
        },
      };
    case "custom":
      return { payload: { [payloadKey(reply.channel)]: reply.payload } };
  }
}
