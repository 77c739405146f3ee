import type { MessagingPolicy } from "@cb/core";

/**
 * WhatsApp's customer service window (developers.facebook.com/docs/whatsapp/pricing#customer-service-windows):
 * free-form messages within 24 hours of the customer's last message; after that only an approved
 * message template, for the bot and for a human agent alike.
 */
export const policy: MessagingPolicy = {
  replyWindowMs: 24 * 3_600_000,
  outsideWindow: { kind: "template" },
  templates: true,
};
