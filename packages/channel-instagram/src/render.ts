import { splitText, truncate, type Button, type Card, type Reply } from "@cb/core";

/** A Send API `message` object, as Instagram takes it. */
export type InstagramMessage = Record<string, unknown>;

// Instagram messaging limits (developers.facebook.com/docs/messenger-platform/instagram/features/send-message,
// …/quick-replies, …/generic-template): text at most 1000 bytes of UTF-8; at most 13 quick replies,
// titles 20; generic template at most 10 elements, title and subtitle 80, at most 3 buttons each,
// button titles 20. No button template: buttons go on a generic template's element.
export const LIMITS = {
  text: 1000,
  quickReplies: 13,
  quickReplyTitle: 20,
  buttons: 3,
  elements: 10,
  elementTitle: 80,
  elementSubtitle: 80,
  buttonTitle: 20,
};

// Quick replies and a card of buttons need words beside them.
const CHOOSE = "Choose one:";

/** Chunks of at most LIMITS.text bytes: cut on characters, shorter where multi-byte characters overflow. */
function chunks(text: string, chars: number = LIMITS.text): string[] {
  return splitText(text, chars).flatMap((chunk) => {
    const size = Buffer.byteLength(chunk);
    return size <= LIMITS.text ? [chunk] : chunks(chunk, Math.floor(([...chunk].length * LIMITS.text) / size));
  });
}

const button = (b: Button) =>
  b.type === "url"
    ? { type: "web_url", url: b.url, title: truncate(b.title, LIMITS.buttonTitle) }
    : { type: "postback", title: truncate(b.title, LIMITS.buttonTitle), payload: b.payload };

function texts(text: string, quickReplies?: { title: string; payload: string }[]): InstagramMessage[] {
  const quick = quickReplies
    ?.slice(0, LIMITS.quickReplies)
    .map((q) => ({ content_type: "text", title: truncate(q.title, LIMITS.quickReplyTitle), payload: q.payload }));
  const parts = chunks(quick?.length ? text.trim() || CHOOSE : text);
  return parts.map((part, i) => ({
    text: part,
    ...(quick?.length && i === parts.length - 1 ? { quick_replies: quick } : {}),
  }));
}

function generic(elements: Record<string, unknown>[]): InstagramMessage {
  return { attachment: { type: "template", payload: { template_type: "generic", elements } } };
}

const element = (c: Card) => ({
  title: truncate(c.title, LIMITS.elementTitle),
  ...(c.subtitle ? { subtitle: truncate(c.subtitle, LIMITS.elementSubtitle) } : {}),
  ...(c.imageUrl ? { image_url: c.imageUrl } : {}),
  ...(c.buttons?.length ? { buttons: c.buttons.slice(0, LIMITS.buttons).map(button) } : {}),
});

/**
 * Buttons: postbacks only and few enough become quick replies under the text; otherwise the text,
 * then a card per three buttons (its title the text when that fits, else "Choose one:").
 */
function withButtons(text: string, buttons: Button[]): InstagramMessage[] {
  if (!buttons.length) return texts(text);
  if (buttons.every((b) => b.type === "postback") && buttons.length <= LIMITS.quickReplies)
    return texts(
      text,
      buttons.map((b) => ({ title: b.title, payload: (b as { payload: string }).payload })),
    );
  const fits = text.trim() && [...text.trim()].length <= LIMITS.elementTitle;
  const cards: Card[] = [];
  for (let i = 0; i < buttons.length; i += LIMITS.buttons)
    cards.push({ title: i === 0 && fits ? text.trim() : CHOOSE, buttons: buttons.slice(i, i + LIMITS.buttons) });
  return [...(fits ? [] : texts(text)), ...carousels(cards)];
}

function carousels(cards: Card[]): InstagramMessage[] {
  const out: InstagramMessage[] = [];
  for (let i = 0; i < cards.length; i += LIMITS.elements)
    out.push(generic(cards.slice(i, i + LIMITS.elements).map(element)));
  return out;
}

/** The reply model → Send API message objects, in sending order. */
export function render(reply: Reply): InstagramMessage[] {
  switch (reply.type) {
    case "text":
      return texts(reply.text, reply.quickReplies);
    case "buttons":
      return withButtons(reply.text, reply.buttons);
    case "cards":
      return carousels(reply.cards);
    case "image":
      return [
        { attachment: { type: "image", payload: { url: reply.url } } },
        ...(reply.caption ? texts(reply.caption) : []),
      ];
    case "custom":
      return reply.channel === "instagram" ? [reply.payload] : [];
    case "template":
      // Message templates are WhatsApp's; Instagram has none.
      return [];
  }
}
