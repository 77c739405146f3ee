import type { MessagingPolicy } from "@cb/core";

/** A bot may post in any conversation it is in, at any time: Slack has no reply window and no templates. */
export const policy: MessagingPolicy = { templates: false };
