import type { MessagingPolicy } from "@cb/core";

const HOUR = 3_600_000;

/**
 * Messenger's standard messaging (developers.facebook.com/docs/messenger-platform/policy/policy-overview):
 * anything within 24 hours of the person's last message; after that only a message tagged for
 * one of the permitted uses; a human agent may answer for 7 days, tagged HUMAN_AGENT. No templates
 * in WhatsApp's sense.
 */
export const policy: MessagingPolicy = {
  replyWindowMs: 24 * HOUR,
  outsideWindow: {
    kind: "tag",
    tags: ["ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "HUMAN_AGENT"],
  },
  humanAgent: { windowMs: 7 * 24 * HOUR, tag: "HUMAN_AGENT" },
  templates: false,
};
