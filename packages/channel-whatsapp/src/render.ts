import { splitText, truncate, type Button, type Card, type Reply } from "@cb/core";

/** A Cloud API message object, less `messaging_product` and `to` (the sender adds them). */
export type WaMessage = { type: string } & Record<string, unknown>;

// WhatsApp Cloud API limits (developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages,
// …/interactive-list-messages, …/text-messages): text body 4096; interactive body 1024; reply
// buttons at most 3 with titles of at most 20; a list's button label 20, at most 10 rows, row
// title 24, row description 72; media caption 1024; CTA URL display text 20.
export const LIMITS = {
  text: 4096,
  body: 1024,
  buttons: 3,
  buttonTitle: 20,
  rows: 10,
  rowTitle: 24,
  rowDescription: 72,
  caption: 1024,
  ctaText: 20,
};

type Choice = { title: string; payload: string };

function textMessages(text: string): WaMessage[] {
  return splitText(text, LIMITS.text).map((body) => ({
    type: "text",
    text: { body, preview_url: /https?:\/\//.test(body) },
  }));
}

/**
 * Choices as the richest form WhatsApp allows: reply buttons (3 short titles), else a list (10
 * rows; a long title is shortened and kept whole in the row's description), else numbered text.
 */
function withChoices(text: string, choices: Choice[], header?: Record<string, unknown>): WaMessage[] {
  const chunks = splitText(text, LIMITS.text);
  const last = chunks.at(-1) ?? "";
  const lead = chunks.slice(0, -1).flatMap(textMessages);
  // Interactive messages need a body of 1 to 1024 characters.
  const body = last && [...last].length <= LIMITS.body ? last : "Choose one:";
  const before = body === last ? lead : [...lead, ...textMessages(last)];
  if (choices.length <= LIMITS.buttons && choices.every((c) => [...c.title].length <= LIMITS.buttonTitle)) {
    return [
      ...before,
      {
        type: "interactive",
        interactive: {
          type: "button",
          ...(header ? { header } : {}),
          body: { text: body },
          action: { buttons: choices.map((c) => ({ type: "reply", reply: { id: c.payload, title: c.title } })) },
        },
      },
    ];
  }
  if (choices.length <= LIMITS.rows) {
    const rows = choices.map((c) => ({
      id: c.payload,
      title: truncate(c.title, LIMITS.rowTitle),
      ...([...c.title].length > LIMITS.rowTitle ? { description: truncate(c.title, LIMITS.rowDescription) } : {}),
    }));
    return [
      ...before,
      {
        type: "interactive",
        interactive: { type: "list", body: { text: body }, action: { button: "Choose", sections: [{ rows }] } },
      },
    ];
  }
  return textMessages(`${text}\n\n${choices.map((c, i) => `${i + 1}. ${c.title}`).join("\n")}`);
}

function withButtons(text: string, buttons: Button[], header?: Record<string, unknown>): WaMessage[] {
  const postbacks = buttons.filter((b) => b.type === "postback").map((b) => ({ title: b.title, payload: b.payload }));
  const links = buttons.filter((b): b is Extract<Button, { type: "url" }> => b.type === "url");
  if (
    !postbacks.length &&
    links.length === 1 &&
    [...text].length <= LIMITS.body &&
    [...links[0]!.title].length <= LIMITS.ctaText
  ) {
    return [
      {
        type: "interactive",
        interactive: {
          type: "cta_url",
          ...(header ? { header } : {}),
          body: { text: text || links[0]!.title },
          action: { name: "cta_url", parameters: { display_text: links[0]!.title, url: links[0]!.url } },
        },
      },
    ];
  }
  // Links WhatsApp cannot put on a button go in the text, where it makes them tappable.
  const full = [text, ...links.map((l) => `${l.title}: ${l.url}`)].filter(Boolean).join("\n");
  if (!postbacks.length)
    return header
      ? [
          {
            type: "image",
            image: { link: (header.image as { link: string }).link, caption: truncate(full, LIMITS.caption) },
          },
        ]
      : textMessages(full);
  return withChoices(full, postbacks, header);
}

function card(c: Card): WaMessage[] {
  const text = [`*${c.title}*`, c.subtitle].filter(Boolean).join("\n");
  const header = c.imageUrl ? { type: "image", image: { link: c.imageUrl } } : undefined;
  if (c.buttons?.length) return withButtons(text, c.buttons, header);
  return header
    ? [{ type: "image", image: { link: c.imageUrl, caption: truncate(text, LIMITS.caption) } }]
    : textMessages(text);
}

/** The reply model → Cloud API message objects, in sending order. */
export function render(reply: Reply): WaMessage[] {
  switch (reply.type) {
    case "text":
      return reply.quickReplies?.length ? withChoices(reply.text, reply.quickReplies) : textMessages(reply.text);
    case "buttons":
      return withButtons(reply.text, reply.buttons);
    case "cards":
      return reply.cards.flatMap(card);
    case "image":
      return [
        {
          type: "image",
          image: { link: reply.url, ...(reply.caption ? { caption: truncate(reply.caption, LIMITS.caption) } : {}) },
        },
      ];
    case "template":
      return [
        {
          type: "template",
          template: {
            name: reply.name,
            language: { code: reply.language },
            ...(reply.components ? { components: reply.components } : {}),
          },
        },
      ];
    case "custom":
      return reply.channel === "whatsapp" ? [reply.payload as WaMessage] : [];
  }
}
