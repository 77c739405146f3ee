import { splitText, truncate, type Button, type Card, type QuickReply, type Reply } from "@cb/core";

/**
 * What the widget shows of one bot message: the reply model's own shapes, within the widget's limits
 * and with only web addresses it can open. The widget builds its DOM from these with textContent
 * and attributes only, never HTML, so no text a bot or a visitor wrote can become markup.
 */
export type WidgetContent =
  | { type: "text"; text: string; quickReplies?: QuickReply[] }
  | { type: "buttons"; text: string; buttons: Button[] }
  | { type: "cards"; cards: Card[] }
  | { type: "image"; url: string; caption?: string };

// Our own limits (no platform sets them): what reads well in a 360-pixel-wide panel.
export const LIMITS = {
  text: 4000,
  title: 80,
  subtitle: 400,
  caption: 1000,
  buttons: 10,
  quickReplies: 12,
  cards: 10,
  payload: 1000,
  url: 2000,
} as const;

/** Only http(s) addresses: a `javascript:` or `data:` link on a button would run on the business's page. */
export function webUrl(url: string): boolean {
  if (url.length > LIMITS.url) return false;
  try {
    const { protocol } = new URL(url);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
}

function button(b: Button): Button {
  const title = truncate(b.title, LIMITS.title);
  if (b.type === "url") {
    if (!webUrl(b.url)) throw new Error(`button "${b.title}" links to ${b.url.slice(0, 40)}, not an http(s) address`);
    return { type: "url", title, url: b.url };
  }
  if (b.payload.length > LIMITS.payload)
    throw new Error(`the payload of button "${b.title}" is over ${LIMITS.payload} characters`);
  return { type: "postback", title, payload: b.payload };
}

function card(c: Card): Card {
  if (c.imageUrl !== undefined && !webUrl(c.imageUrl))
    throw new Error(`card "${c.title}" has an image that is not an http(s) address`);
  return {
    title: truncate(c.title, LIMITS.title),
    ...(c.subtitle ? { subtitle: truncate(c.subtitle, LIMITS.subtitle) } : {}),
    ...(c.imageUrl ? { imageUrl: c.imageUrl } : {}),
    ...(c.buttons?.length ? { buttons: c.buttons.slice(0, LIMITS.buttons).map(button) } : {}),
  };
}

/** The reply model → what the widget shows, in order. Throws for a reply it must not show (a bad link). */
export function render(reply: Reply): WidgetContent[] {
  switch (reply.type) {
    case "text": {
      const chunks = splitText(reply.text, LIMITS.text);
      const quick = reply.quickReplies?.slice(0, LIMITS.quickReplies).map((q) => {
        if (q.payload.length > LIMITS.payload) throw new Error(`the payload of quick reply "${q.title}" is too long`);
        return { title: truncate(q.title, LIMITS.title), payload: q.payload };
      });
      // Quick replies hang on the last part, as the platforms show them.
      return chunks.map((text, i) => ({
        type: "text",
        text,
        ...(quick?.length && i === chunks.length - 1 ? { quickReplies: quick } : {}),
      }));
    }
    case "buttons": {
      const chunks = splitText(reply.text.trim() || "Choose one:", LIMITS.text);
      const buttons = reply.buttons.slice(0, LIMITS.buttons).map(button);
      return chunks.map((text, i) =>
        i === chunks.length - 1 ? { type: "buttons", text, buttons } : { type: "text", text },
      );
    }
    case "cards":
      return reply.cards.length ? [{ type: "cards", cards: reply.cards.slice(0, LIMITS.cards).map(card) }] : [];
    case "image":
      if (!webUrl(reply.url)) throw new Error("the image is not an http(s) address");
      return [
        {
          type: "image",
          url: reply.url,
          ...(reply.caption ? { caption: truncate(reply.caption, LIMITS.caption) } : {}),
        },
      ];
    case "custom":
    case "template":
      // Another platform's own payload, or a WhatsApp template: the widget shows the reply model only.
      return [];
  }
}
