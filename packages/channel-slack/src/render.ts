import { splitText, truncate, type Button, type Card, type Reply } from "@cb/core";

/** chat.postMessage arguments less `channel` and `thread_ts`. */
export interface SlackMessage {
  text: string;
  blocks?: Record<string, unknown>[];
  [other: string]: unknown;
}

// Block Kit limits (docs.slack.dev/reference/block-kit): 50 blocks per message, section text 3000
// characters, 25 elements per actions block, button text 75, button value 2000; image alt text
// and title 2000.
export const LIMITS = {
  blocks: 50,
  /** A section's text: longer text is sent in several sections. */
  text: 3000,
  actionElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  fallbackText: 3000,
  imageText: 2000,
};

/** mrkdwn needs exactly &, < and > escaped (docs.slack.dev/messaging/formatting-message-text). */
export const escapeMrkdwn = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** Raw characters to keep so that, escaped at the same rate, the text fits `limit`. */
const shrink = (raw: string, escaped: string, limit: number) =>
  Math.max(1, Math.floor(([...raw].length * limit) / escaped.length));

// Slack counts a section's text as sent, entities included: text is cut on its raw characters,
// escaped, and cut shorter when escaping pushed it past the limit, so no entity is ever split.
function mrkdwnSections(text: string, rawLimit = LIMITS.text): string[] {
  return splitText(text, rawLimit).flatMap((chunk) => {
    const escaped = escapeMrkdwn(chunk);
    return escaped.length <= LIMITS.text ? [escaped] : mrkdwnSections(chunk, shrink(chunk, escaped, LIMITS.text));
  });
}

function truncateMrkdwn(text: string, limit: number): string {
  let escaped = escapeMrkdwn(text);
  for (let raw = text; escaped.length > limit; escaped = escapeMrkdwn(raw))
    raw = truncate(text, shrink(raw, escaped, limit));
  return escaped;
}

const section = (mrkdwn: string) => ({ type: "section", text: { type: "mrkdwn", text: mrkdwn } });

function button(b: Button, i: number) {
  const base = {
    type: "button",
    text: { type: "plain_text", text: truncate(b.title, LIMITS.buttonText), emoji: true },
    action_id: `reply_${i}`,
  };
  if (b.type === "url") return { ...base, url: b.url };
  if (b.payload.length > LIMITS.buttonValue)
    throw new Error(`Slack button values are limited to ${LIMITS.buttonValue} characters ("${b.title}")`);
  return { ...base, value: b.payload };
}

function actions(buttons: Button[]) {
  const blocks = [];
  for (let i = 0; i < buttons.length; i += LIMITS.actionElements) {
    blocks.push({
      type: "actions",
      elements: buttons.slice(i, i + LIMITS.actionElements).map((b, j) => button(b, i + j)),
    });
  }
  return blocks;
}

/** Blocks into messages of at most 50 blocks, each with a plain-text fallback for notifications. */
function messages(blocks: Record<string, unknown>[], fallback: string): SlackMessage[] {
  const out: SlackMessage[] = [];
  for (let i = 0; i < blocks.length; i += LIMITS.blocks)
    out.push({ text: truncate(fallback || " ", LIMITS.fallbackText), blocks: blocks.slice(i, i + LIMITS.blocks) });
  return out;
}

function textWithButtons(text: string, buttons: Button[] = []): SlackMessage[] {
  const sections = mrkdwnSections(text).map(section);
  return messages([...sections, ...actions(buttons)], text);
}

function card(c: Card) {
  const text = [`*${c.title}*`, c.subtitle ?? ""].filter(Boolean).join("\n");
  return [
    {
      ...section(truncateMrkdwn(text, LIMITS.text)),
      ...(c.imageUrl
        ? { accessory: { type: "image", image_url: c.imageUrl, alt_text: truncate(c.title, LIMITS.imageText) } }
        : {}),
    },
    ...actions(c.buttons ?? []),
  ];
}

/** The reply model → chat.postMessage arguments, in sending order. */
export function render(reply: Reply): SlackMessage[] {
  switch (reply.type) {
    case "text":
      return textWithButtons(
        reply.text,
        reply.quickReplies?.map((q) => ({ type: "postback", title: q.title, payload: q.payload })),
      );
    case "buttons":
      return textWithButtons(reply.text, reply.buttons);
    case "cards":
      return messages(
        reply.cards.flatMap((c, i) => [...(i ? [{ type: "divider" }] : []), ...card(c)]),
        reply.cards.map((c) => c.title).join(", "),
      );
    case "image":
      return messages(
        [
          {
            type: "image",
            image_url: reply.url,
            alt_text: truncate(reply.caption ?? "image", LIMITS.imageText),
            ...(reply.caption
              ? { title: { type: "plain_text", text: truncate(reply.caption, LIMITS.imageText) } }
              : {}),
          },
        ],
        reply.caption ?? reply.url,
      );
    case "custom":
      return reply.channel === "slack" ? [{ text: "", ...reply.payload } as SlackMessage] : [];
    case "template":
      // WhatsApp message templates have no Slack counterpart.
      return [];
  }
}
