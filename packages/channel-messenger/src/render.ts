import { splitText, truncate, type Button, type Card, type Reply } from "@cb/core";

/** A Send API `message` object. */
export type MessengerMessage = Record<string, unknown>;

// Messenger Platform limits (developers.facebook.com/docs/messenger-platform/send-messages, …/quick-replies,
// …/templates/button, …/templates/generic): text 2000; at most 13 quick replies, titles 20; button
// template text 640 with at most 3 buttons; generic template at most 10 elements, title and
// subtitle 80, at most 3 buttons each; button titles 20.
export const LIMITS = {
  text: 2000,
  quickReplies: 13,
  quickReplyTitle: 20,
  buttonText: 640,
  buttons: 3,
  elements: 10,
  elementTitle: 80,
  elementSubtitle: 80,
  buttonTitle: 20,
};

const button = (b: Button) =>
  b.type === "url"
    ? { type: "web_url", url: b.url, title: truncate(b.title, LIMITS.buttonTitle) }
    : { type: "postback", title: truncate(b.title, LIMITS.buttonTitle), payload: b.payload };

// Quick replies and button templates need words beside them.
const CHOOSE = "Choose one:";

function texts(text: string, quickReplies?: { title: string; payload: string }[]): MessengerMessage[] {
  const quick = quickReplies
    ?.slice(0, LIMITS.quickReplies)
    .map((q) => ({ content_type: "text", title: truncate(q.title, LIMITS.quickReplyTitle), payload: q.payload }));
  const chunks = splitText(quick?.length ? text.trim() || CHOOSE : text, LIMITS.text);
  return chunks.map((chunk, i) => ({
    text: chunk,
    ...(quick?.length && i === chunks.length - 1 ? { quick_replies: quick } : {}),
  }));
}

/** Buttons: a button template (3 at most, text 640); more than 3 become quick replies when they are all postbacks. */
function withButtons(text: string, buttons: Button[]): MessengerMessage[] {
  if (!buttons.length) return texts(text);
  const shown = text.trim() ? text : CHOOSE;
  if (buttons.length <= LIMITS.buttons && [...shown].length <= LIMITS.buttonText) {
    return [
      {
        attachment: {
          type: "template",
          payload: { template_type: "button", text: shown, buttons: buttons.map(button) },
        },
      },
    ];
  }
  if (buttons.every((b) => b.type === "postback") && buttons.length <= LIMITS.quickReplies) {
    return texts(
      text,
      buttons.map((b) => ({ title: b.title, payload: (b as { payload: string }).payload })),
    );
  }
  // Too many links or text too long for one template: the text, then templates of three buttons.
  const groups: Button[][] = [];
  for (let i = 0; i < buttons.length; i += LIMITS.buttons) groups.push(buttons.slice(i, i + LIMITS.buttons));
  return [
    ...texts(text),
    ...groups.map((g) => ({
      attachment: {
        type: "template",
        payload: { template_type: "button", text: "More options:", buttons: g.map(button) },
      },
    })),
  ];
}

function generic(cards: Card[]): MessengerMessage {
  return {
    attachment: {
      type: "template",
      payload: {
        template_type: "generic",
        elements: cards.map((c) => ({
          title: truncate(c.title, LIMITS.elementTitle),
          ...(c.subtitle ? { subtitle: truncate(c.subtitle, LIMITS.elementSubtitle) } : {}),
          ...(c.imageUrl ? { image_url: c.imageUrl } : {}),
          ...(c.buttons?.length ? { buttons: c.buttons.slice(0, LIMITS.buttons).map(button) } : {}),
        })),
      },
    },
  };
}

/** The reply model → Send API message objects, in sending order. */
export function render(reply: Reply): MessengerMessage[] {
  switch (reply.type) {
    case "text":
      return texts(reply.text, reply.quickReplies);
    case "buttons":
      return withButtons(reply.text, reply.buttons);
    case "cards": {
      const carousels: MessengerMessage[] = [];
      for (let i = 0; i < reply.cards.length; i += LIMITS.elements)
        carousels.push(generic(reply.cards.slice(i, i + LIMITS.elements)));
      return carousels;
    }
    case "image":
      return [
        { attachment: { type: "image", payload: { url: reply.url, is_reusable: true } } },
        ...(reply.caption ? texts(reply.caption) : []),
      ];
    case "custom":
      return reply.channel === "messenger" ? [reply.payload] : [];
    case "template":
      // WhatsApp message templates have no Messenger counterpart.
      return [];
  }
}
