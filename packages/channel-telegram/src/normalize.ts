import type { InboundEvent, InboundMessage, Media } from "@cb/core";
import type { Message, Update, User } from "telegraf/types";

/** What normalization needs to know about the bot itself (to tell when a group message addresses it). */
export interface BotIdentity {
  id?: number;
  username?: string;
}

// "/start", "/start@MyBot", "/order 123": Telegram's command syntax. Older clients (and Telegram's
// own sample updates) send commands without a bot_command entity, so the text is checked too.
const COMMAND = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,}))?(?:\s+([\s\S]*))?$/;

function party(user: User | undefined, chatId: number) {
  return {
    externalId: String(user?.id ?? chatId),
    ...(user ? { name: [user.first_name, user.last_name].filter(Boolean).join(" ") } : {}),
    ...(user?.username ? { username: user.username } : {}),
  };
}

function mediaOf(m: Message): Media[] | undefined {
  const caption = "caption" in m && m.caption ? { caption: m.caption } : {};
  if ("photo" in m && m.photo.length) {
    // Telegram sends every resolution; the last is the largest.
    return [{ kind: "image", id: m.photo.at(-1)!.file_id, ...caption }];
  }
  if ("document" in m)
    return [
      {
        kind: "document",
        id: m.document.file_id,
        ...(m.document.mime_type ? { mimeType: m.document.mime_type } : {}),
        ...(m.document.file_name ? { fileName: m.document.file_name } : {}),
        ...caption,
      },
    ];
  if ("video" in m)
    return [
      { kind: "video", id: m.video.file_id, ...(m.video.mime_type ? { mimeType: m.video.mime_type } : {}), ...caption },
    ];
  if ("audio" in m)
    return [
      { kind: "audio", id: m.audio.file_id, ...(m.audio.mime_type ? { mimeType: m.audio.mime_type } : {}), ...caption },
    ];
  if ("voice" in m)
    return [{ kind: "audio", id: m.voice.file_id, ...(m.voice.mime_type ? { mimeType: m.voice.mime_type } : {}) }];
  if ("sticker" in m) return [{ kind: "sticker", id: m.sticker.file_id }];
  return undefined;
}

function normalizeMessage(updateId: number, m: Message, bot: BotIdentity, edited: boolean): InboundMessage {
  const privateChat = m.chat.type === "private";
  const text = "text" in m ? m.text : "caption" in m ? m.caption : undefined;
  const command = text !== undefined ? COMMAND.exec(text) : null;
  const commandForOtherBot =
    command?.[2] !== undefined && bot.username !== undefined && command[2].toLowerCase() !== bot.username.toLowerCase();
  // "@ShopBot" as a whole word: "@ShopBotHelper" names another bot (usernames are letters, digits, "_").
  const mentioned = bot.username !== undefined && new RegExp(`@${bot.username}\\b`, "i").test(text ?? "");
  const repliedTo = "reply_to_message" in m ? m.reply_to_message : undefined;
  const replyToBot = repliedTo?.from?.id !== undefined && repliedTo.from.id === bot.id;
  const threadId =
    "is_topic_message" in m && m.is_topic_message && m.message_thread_id !== undefined
      ? String(m.message_thread_id)
      : undefined;
  const media = mediaOf(m);

  const message: InboundMessage = {
    channel: "telegram",
    platformEventId: String(updateId),
    platformMessageId: String(m.message_id),
    conversation: {
      externalId: String(m.chat.id),
      type: privateChat ? "private" : "group",
      ...(threadId ? { threadId } : {}),
    },
    sender: party(m.from, m.chat.id),
    sentAt: new Date(m.date * 1000).toISOString(),
    addressedToBot: privateChat || (command !== null && !commandForOtherBot) || mentioned || replyToBot,
  };
  if (text !== undefined) message.text = text;
  if (command && !commandForOtherBot)
    message.command = { name: command[1]!.toLowerCase(), args: (command[3] ?? "").trim() };
  if (media) message.media = media;
  if ("location" in m) {
    const venue = "venue" in m ? m.venue : undefined;
    message.location = {
      latitude: m.location.latitude,
      longitude: m.location.longitude,
      ...(venue ? { name: venue.title, address: venue.address } : {}),
    };
  }
  if ("contact" in m) {
    message.contacts = [
      { name: [m.contact.first_name, m.contact.last_name].filter(Boolean).join(" "), phones: [m.contact.phone_number] },
    ];
  }
  if (edited) message.editOf = String(m.message_id);
  if (repliedTo) message.replyTo = String(repliedTo.message_id);
  return message;
}

/** One Telegram Update → the shared model. Updates the bot has no use for yield nothing. */
export function normalize(update: Update, bot: BotIdentity = {}): InboundEvent[] {
  if ("message" in update)
    return [{ type: "message", message: normalizeMessage(update.update_id, update.message, bot, false), raw: update }];
  if ("edited_message" in update)
    return [
      { type: "message", message: normalizeMessage(update.update_id, update.edited_message, bot, true), raw: update },
    ];
  if ("callback_query" in update) {
    const q = update.callback_query;
    const chat = q.message?.chat;
    const message: InboundMessage = {
      channel: "telegram",
      platformEventId: String(update.update_id),
      // The callback query's id: what answerCallbackQuery needs.
      platformMessageId: q.id,
      // Inline-mode buttons have no chat; the presser's private chat is where an answer can go.
      conversation: {
        externalId: String(chat?.id ?? q.from.id),
        type: !chat || chat.type === "private" ? "private" : "group",
      },
      sender: party(q.from, q.from.id),
      sentAt: new Date((q.message?.date ?? Math.floor(Date.now() / 1000)) * 1000).toISOString(),
      postback: { payload: "data" in q ? q.data : "game_short_name" in q ? q.game_short_name : "" },
      addressedToBot: true,
      ...(q.message ? { replyTo: String(q.message.message_id) } : {}),
    };
    return [{ type: "message", message, raw: update }];
  }
  return [];
}

/** Dialogflow's Telegram integration: /start fires TELEGRAM_WELCOME, then WELCOME. */
export function welcomeEvents(message: InboundMessage): string[] {
  return message.command?.name === "start" ? ["TELEGRAM_WELCOME", "WELCOME"] : [];
}
