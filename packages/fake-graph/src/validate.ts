/**
 * What the Graph API checks in a message before accepting it, as far as this project relies on it.
 * A violation throws `Invalid`, answered as Meta answers: HTTP 400, `error.code` 100 (invalid
 * parameter) or 131009 (parameter value not valid) and a message naming the field.
 */
export class Invalid extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const len = (s: unknown) => (typeof s === "string" ? [...s].length : 0);
function need(ok: unknown, field: string, code = 100): asserts ok {
  if (!ok) throw new Invalid(code, `(#${code}) Invalid parameter: ${field}`);
}
function max(s: unknown, limit: number, field: string): void {
  need(typeof s === "string" && len(s) > 0, field);
  if (len(s) > limit)
    throw new Invalid(131009, `(#131009) Parameter value is not valid: ${field} is longer than ${limit} characters`);
}

export function validateWhatsApp(body: Record<string, unknown>): void {
  need(body.messaging_product === "whatsapp", "messaging_product");
  need(typeof body.to === "string" && /^\+?\d{6,15}$/.test(body.to), "to");
  const type = body.type as string;
  const payload = body[type] as Record<string, any> | undefined;
  need(payload && typeof payload === "object", type ?? "type");
  switch (type) {
    case "text":
      max(payload.body, 4096, "text.body");
      break;
    case "image":
      need(payload.link || payload.id, "image.link");
      if (payload.caption !== undefined) max(payload.caption, 1024, "image.caption");
      break;
    case "template":
      need(typeof payload.name === "string" && payload.name, "template.name");
      need(typeof payload.language?.code === "string", "template.language.code");
      break;
    case "interactive": {
      max(payload.body?.text, 1024, "interactive.body.text");
      if (payload.type === "button") {
        const buttons = payload.action?.buttons as { type: string; reply: { id: string; title: string } }[] | undefined;
        need(Array.isArray(buttons) && buttons.length >= 1 && buttons.length <= 3, "interactive.action.buttons");
        for (const b of buttons) {
          need(b.type === "reply", "button.type");
          max(b.reply?.title, 20, "button.reply.title");
          max(b.reply?.id, 256, "button.reply.id");
        }
        need(new Set(buttons.map((b) => b.reply.id)).size === buttons.length, "button ids must be unique");
      } else if (payload.type === "list") {
        max(payload.action?.button, 20, "interactive.action.button");
        const rows = (
          (payload.action?.sections ?? []) as { rows?: { id: string; title: string; description?: string }[] }[]
        ).flatMap((s) => s.rows ?? []);
        need(rows.length >= 1 && rows.length <= 10, "interactive.action.sections.rows");
        for (const r of rows) {
          max(r.title, 24, "row.title");
          max(r.id, 200, "row.id");
          if (r.description !== undefined) max(r.description, 72, "row.description");
        }
      } else if (payload.type === "cta_url") {
        max(payload.action?.parameters?.display_text, 20, "cta_url.display_text");
        need(/^https?:\/\//.test(payload.action?.parameters?.url ?? ""), "cta_url.url");
      } else {
        need(false, "interactive.type");
      }
      break;
    }
    default:
      need(false, "type");
  }
}

// The Send API checks quick replies, buttons and generic templates alike for Messenger and Instagram.
function quickReplies(m: Record<string, any>): void {
  if (!m.quick_replies) return;
  need(Array.isArray(m.quick_replies) && m.quick_replies.length <= 13, "message.quick_replies");
  for (const q of m.quick_replies) {
    need(q.content_type === "text", "quick_reply.content_type");
    max(q.title, 20, "quick_reply.title");
    max(q.payload, 1000, "quick_reply.payload");
  }
}

function buttons(list: any[] | undefined, field: string): void {
  need(!list || (Array.isArray(list) && list.length <= 3), field);
  for (const b of list ?? []) {
    max(b.title, 20, `${field}.title`);
    need(b.type === "web_url" ? /^https?:\/\//.test(b.url ?? "") : b.type === "postback" && b.payload, `${field}.type`);
  }
}

function genericTemplate(p: Record<string, any>): void {
  need(Array.isArray(p.elements) && p.elements.length >= 1 && p.elements.length <= 10, "payload.elements");
  for (const e of p.elements) {
    max(e.title, 80, "element.title");
    if (e.subtitle !== undefined) max(e.subtitle, 80, "element.subtitle");
    buttons(e.buttons, "element.buttons");
  }
}

export function validateMessenger(body: Record<string, any>): void {
  need(typeof body.recipient?.id === "string", "recipient.id");
  need(["RESPONSE", "UPDATE", "MESSAGE_TAG"].includes(body.messaging_type), "messaging_type");
  if (body.messaging_type === "MESSAGE_TAG")
    need(["ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "HUMAN_AGENT"].includes(body.tag), "tag");
  const m = body.message as Record<string, any> | undefined;
  need(m && (m.text !== undefined || m.attachment), "message");
  if (m.text !== undefined) max(m.text, 2000, "message.text");
  quickReplies(m);
  const p = m.attachment?.payload;
  if (m.attachment?.type === "template") {
    if (p?.template_type === "button") {
      max(p.text, 640, "payload.text");
      need(p.buttons?.length, "payload.buttons");
      buttons(p.buttons, "payload.buttons");
    } else if (p?.template_type === "generic") genericTemplate(p);
    else need(false, "payload.template_type");
  } else if (m.attachment) {
    need(["image", "audio", "video", "file"].includes(m.attachment.type) && p?.url, "attachment.payload.url");
  }
}

const bytes = (s: unknown) => (typeof s === "string" ? Buffer.byteLength(s) : 0);

/**
 * Instagram messaging through the Messenger Platform (developers.facebook.com/docs/messenger-platform/instagram):
 * text at most 1000 bytes of UTF-8; at most 13 quick replies, titles of 20; generic templates only
 * (10 elements, titles and subtitles 80, 3 buttons of 20); image, audio and video attachments;
 * outside the window only the HUMAN_AGENT tag.
 */
export function validateInstagram(body: Record<string, any>): void {
  need(typeof body.recipient?.id === "string", "recipient.id");
  need(["RESPONSE", "MESSAGE_TAG"].includes(body.messaging_type), "messaging_type");
  if (body.messaging_type === "MESSAGE_TAG") need(body.tag === "HUMAN_AGENT", "tag");
  const m = body.message as Record<string, any> | undefined;
  need(m && (m.text !== undefined || m.attachment), "message");
  if (m.text !== undefined) {
    need(typeof m.text === "string" && m.text.length > 0, "message.text");
    if (bytes(m.text) > 1000)
      throw new Invalid(100, "(#100) Length of param message[text] must be less than or equal to 1000");
  }
  quickReplies(m);
  const p = m.attachment?.payload;
  if (m.attachment?.type === "template") {
    need(p?.template_type === "generic", "payload.template_type");
    genericTemplate(p);
  } else if (m.attachment) {
    need(["image", "audio", "video"].includes(m.attachment.type) && p?.url, "attachment.payload.url");
  }
}
