import type { MessagingPolicy } from "@cb/core";

/** The bot, notifications and human agents may write to a web chat visitor at any time: no platform sets a window. */
export const policy: MessagingPolicy = { templates: false };
