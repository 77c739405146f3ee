import type { MessagingPolicy } from "@cb/core";

const HOUR = 3_600_000;

/**
 * Instagram messaging (developers.facebook.com/docs/messenger-platform/instagram/features/send-message):
 * anything within 24 hours of the customer's last message; after that only a human agent's reply,
 * tagged HUMAN_AGENT, for 7 days. Instagram permits no other tag, and has no templates.
 */
export const policy: MessagingPolicy = {
  replyWindowMs: 24 * HOUR,
  outsideWindow: { kind: "tag", tags: ["HUMAN_AGENT"] },
  humanAgent: { windowMs: 7 * 24 * HOUR, tag: "HUMAN_AGENT" },
  templates: false,
};
