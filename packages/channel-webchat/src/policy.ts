/**
 * When the bot, a notification or a human agent may write to a web chat visitor: always (no platform
 * sets a window). The shape is the channel contract's MessagingPolicy (branch `channels`); no
 * message templates.
 */
export const policy = { templates: false } as const;
