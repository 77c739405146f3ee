import type { InboundEvent, InboundMessage } from "@cb/core";

export interface SlackMessageEvent {
  type: "message" | "app_mention";
  subtype?: string;
  bot_id?: string;
  user?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  channel: string;
  channel_type?: string;
}

// Ordinary user messages have no subtype; a message with files has "file_share". Edits, deletions,
// joins, bot posts and the rest are not someone talking to the bot.
const TALK = new Set([undefined, "file_share", "thread_broadcast"]);

const at = (ts: string) => new Date(Math.round(Number(ts) * 1000)).toISOString();
const withoutMention = (text: string, botUserId?: string) =>
  (botUserId ? text.replaceAll(`<@${botUserId}>`, "") : text.replace(/^<@[A-Z0-9]+>/, "")).trim();

/**
 * A message or app_mention event → the shared model. Direct messages (channel_type "im") are
 * private; in channels the bot answers mentions, which arrive as app_mention (the plain channel
 * message of the same post is kept, marked as not addressed, so it is never answered twice).
 */
export function normalizeMessageEvent(eventId: string, event: SlackMessageEvent, botUserId?: string): InboundEvent[] {
  if (event.bot_id || !TALK.has(event.subtype) || !event.user || event.user === botUserId) return [];
  const direct = event.channel_type === "im";
  const message: InboundMessage = {
    channel: "slack",
    platformEventId: eventId,
    platformMessageId: event.ts,
    conversation: {
      externalId: event.channel,
      type: direct ? "private" : "group",
      ...(event.thread_ts ? { threadId: event.thread_ts } : {}),
    },
    sender: { externalId: event.user },
    sentAt: at(event.ts),
    text: withoutMention(event.text ?? "", botUserId),
    addressedToBot: direct || event.type === "app_mention",
  };
  return [{ type: "message", message, raw: event }];
}

/** A customer entered the app's App Home (https://docs.slack.dev/reference/events/app_home_opened). */
export interface SlackAppHomeOpenedEvent {
  type: "app_home_opened";
  user: string;
  /** The app's direct-message channel with the user. */
  channel: string;
  tab?: "home" | "messages";
}

/** The command an app_home_opened becomes: what the driver's welcomeEvents look for. */
export const APP_HOME_OPENED = "app_home_opened";

/**
 * Opening the app's Messages tab (app_home_opened), Slack's counterpart of Telegram's /start: a
 * message without text, marked with the command `app_home_opened`, that fires the welcome. Slack
 * sends the event at every visit and asks apps to greet at the first one only: its event id is the
 * direct-message channel's, so the first visit is stored and answered and later ones are
 * duplicates. The Home tab is the app's own page, not the conversation: it yields nothing.
 */
export function normalizeAppHomeOpened(event: SlackAppHomeOpenedEvent, eventTime?: number): InboundEvent[] {
  if (event.tab !== "messages" || !event.user || !event.channel) return [];
  const message: InboundMessage = {
    channel: "slack",
    platformEventId: `${APP_HOME_OPENED}:${event.channel}`,
    conversation: { externalId: event.channel, type: "private" },
    sender: { externalId: event.user },
    // The envelope's event_time: this event's event_ts is not a message ts.
    sentAt: new Date(typeof eventTime === "number" ? eventTime * 1000 : Date.now()).toISOString(),
    command: { name: APP_HOME_OPENED, args: "" },
    addressedToBot: true,
  };
  return [{ type: "message", message, raw: event }];
}

interface BlockAction {
  action_id: string;
  action_ts: string;
  value?: string;
  text?: { text: string };
  selected_option?: { value: string; text?: { text: string } };
}

export interface BlockActionsPayload {
  type: "block_actions";
  user: { id: string; name?: string; username?: string };
  channel?: { id: string };
  container?: { message_ts?: string; channel_id?: string; thread_ts?: string };
  message?: { ts?: string; thread_ts?: string };
  actions: BlockAction[];
}

/** Button presses and menu choices (block_actions) are postbacks carrying the element's value. */
export function normalizeBlockActions(payload: BlockActionsPayload): InboundEvent[] {
  const channel = payload.channel?.id ?? payload.container?.channel_id;
  if (!channel) return [];
  const threadId = payload.container?.thread_ts ?? payload.message?.thread_ts;
  return payload.actions.map((action) => {
    const value = action.value ?? action.selected_option?.value ?? "";
    const title = action.text?.text ?? action.selected_option?.text?.text;
    const message: InboundMessage = {
      channel: "slack",
      // Stable across Slack's retries of the same press.
      platformEventId: `${payload.container?.message_ts ?? ""}:${action.action_id}:${action.action_ts}`,
      conversation: {
        externalId: channel,
        type: channel.startsWith("D") ? "private" : "group",
        ...(threadId ? { threadId } : {}),
      },
      sender: { externalId: payload.user.id, ...(payload.user.name ? { name: payload.user.name } : {}) },
      sentAt: at(action.action_ts),
      postback: { payload: value, ...(title ? { title } : {}) },
      addressedToBot: true,
      ...(payload.container?.message_ts ? { replyTo: payload.container.message_ts } : {}),
    };
    return { type: "message" as const, message, raw: payload };
  });
}

/**
 * What the Bolt listeners see → the shared model: an Events API callback (message, app_mention,
 * app_home_opened), or an interaction (block_actions). Anything else yields nothing.
 */
// biome-ignore lint/suspicious/noExplicitAny: untyped platform JSON, read field by field
export function normalize(body: Record<string, any>, botUserId?: string): InboundEvent[] {
  if (body.type === "block_actions") return normalizeBlockActions(body as BlockActionsPayload);
  const event = body.event as SlackMessageEvent | undefined;
  if (body.type === "event_callback" && (event?.type === "message" || event?.type === "app_mention"))
    return normalizeMessageEvent(String(body.event_id), event, botUserId);
  if (body.type === "event_callback" && body.event?.type === APP_HOME_OPENED)
    return normalizeAppHomeOpened(body.event as SlackAppHomeOpenedEvent, body.event_time);
  return [];
}
