import { splitText, truncate, type Button, type Card, type Reply } from "@cb/core";
import type { InlineKeyboardButton, InlineKeyboardMarkup } from "telegraf/types";

/** One Bot API call a reply becomes (sendMessage, sendPhoto, or a custom payload's method). */
export interface BotApiCall {
  method: string;
  params: Record<string, unknown>;
}

// Bot API limits (https://core.telegram.org/bots/api): message text 4096 characters after entity
// parsing, photo caption 1024, callback_data 1-64 bytes.
export const LIMITS = { text: 4096, caption: 1024, callbackDataBytes: 64 };

/** HTML parse mode needs exactly these three escaped (Bot API, "HTML style"). */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function button(b: Button): InlineKeyboardButton {
  if (b.type === "url") return { text: b.title, url: b.url };
  if (Buffer.byteLength(b.payload) > LIMITS.callbackDataBytes) {
    throw new Error(
      `Telegram callback data is limited to ${LIMITS.callbackDataBytes} bytes; shorten the payload of button "${b.title}"`,
    );
  }
  return { text: b.title, callback_data: b.payload };
}

function keyboard(buttons: Button[] | undefined): InlineKeyboardMarkup | undefined {
  if (!buttons?.length) return undefined;
  // One button a row reads best on phones and never overflows the row width.
  return { inline_keyboard: buttons.map((b) => [button(b)]) };
}

function textMessages(text: string, buttons?: Button[]): BotApiCall[] {
  const markup = keyboard(buttons);
  // A keyboard needs a message to hang on.
  const chunks = splitText(markup ? text.trim() || "Choose one:" : text, LIMITS.text);
  return chunks.map((chunk, i) => ({
    method: "sendMessage",
    params: {
      text: escapeHtml(chunk),
      parse_mode: "HTML" as const,
      ...(markup && i === chunks.length - 1 ? { reply_markup: markup } : {}),
    },
  }));
}

function card(c: Card): BotApiCall[] {
  // Telegram counts text after entity parsing: the title, a line break and the subtitle, as written.
  const subtitle = c.subtitle ? truncate(c.subtitle, LIMITS.text - [...c.title].length - 1) : "";
  const body = [`<b>${escapeHtml(c.title)}</b>`, escapeHtml(subtitle)].filter(Boolean).join("\n");
  const markup = keyboard(c.buttons);
  const fitsCaption = [...`${c.title}\n${subtitle}`].length <= LIMITS.caption;
  if (c.imageUrl && fitsCaption) {
    return [
      {
        method: "sendPhoto",
        params: { photo: c.imageUrl, caption: body, parse_mode: "HTML", ...(markup ? { reply_markup: markup } : {}) },
      },
    ];
  }
  const calls: BotApiCall[] = c.imageUrl ? [{ method: "sendPhoto", params: { photo: c.imageUrl } }] : [];
  return [
    ...calls,
    { method: "sendMessage", params: { text: body, parse_mode: "HTML", ...(markup ? { reply_markup: markup } : {}) } },
  ];
}

/** The reply model → Bot API calls, in sending order. */
export function render(reply: Reply): BotApiCall[] {
  switch (reply.type) {
    case "text":
      return textMessages(
        reply.text,
        reply.quickReplies?.map((q) => ({ type: "postback", title: q.title, payload: q.payload })),
      );
    case "buttons":
      return textMessages(reply.text, reply.buttons);
    case "cards":
      return reply.cards.flatMap(card);
    case "image":
      return [
        {
          method: "sendPhoto",
          params: {
            photo: reply.url,
            parse_mode: "HTML",
            ...(reply.caption ? { caption: escapeHtml(truncate(reply.caption, LIMITS.caption)) } : {}),
          },
        },
      ];
    case "custom": {
      if (reply.channel !== "telegram") return [];
      const { method, ...params } = reply.payload as { method?: unknown };
      if (typeof method !== "string") throw new Error('a custom Telegram reply needs a "method" and its parameters');
      return [{ method, params }];
    }
    case "template":
      // Message templates are a WhatsApp concept; Telegram has no equivalent to send.
      return [];
  }
}

// Dialogflow's Telegram payloads name no method: the field that holds the content tells it.
const DIALOGFLOW_METHODS: [field: string, method: string][] = [
  ["photo", "sendPhoto"],
  ["audio", "sendAudio"],
  ["document", "sendDocument"],
  ["video", "sendVideo"],
  ["animation", "sendAnimation"],
  ["voice", "sendVoice"],
  ["sticker", "sendSticker"],
  ["latitude", "sendLocation"],
  ["text", "sendMessage"],
];

/** A Dialogflow Telegram payload as the Bot API call a custom reply makes: `method` plus its parameters. */
export function dialogflowCall(payload: Record<string, unknown>): Record<string, unknown> | undefined {
  if (typeof payload.method === "string") return payload;
  const method = DIALOGFLOW_METHODS.find(([field]) => payload[field] !== undefined)?.[1];
  return method ? { method, ...payload } : undefined;
}
