import type { MessagingPolicy } from "@cb/core";

/**
 * A bot may write to anyone who has started it, at any time: Telegram has no reply window, no
 * message tags and no templates (https://core.telegram.org/bots/faq).
 */
export const policy: MessagingPolicy = { templates: false };
