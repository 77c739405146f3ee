import type { Reply } from "./reply.ts";

/**
 * When a channel lets a business write to a customer, by the time since the customer's last
 * message. Notifications, scheduled messages and human agents' replies all go by it.
 */
export interface MessagingPolicy {
  /** Free messaging lasts this long after the customer's last message (WhatsApp, Meta: 24 h); absent: always. */
  replyWindowMs?: number;
  /**
   * What may still be sent after the window. template: only an approved message template
   * (WhatsApp); tag: a message tag from `tags` (Messenger's ACCOUNT_UPDATE…); absent: nothing.
   */
  outsideWindow?: { kind: "template" } | { kind: "tag"; tags: readonly string[] };
  /** A human agent's reply (handoff): allowed this long after the customer's last message, carrying this tag. */
  humanAgent?: { windowMs: number; tag: string };
  /** Whether the channel has message templates (`template` replies). */
  templates: boolean;
}

/** What a notification may say outside the window, in one channel's terms (the notification's `<channel>` field). */
export type OutsideWindowContent =
  | { template: string; language: string; parameters?: string[] }
  | { tag: string }
  | undefined;

export type PolicyVerdict = { ok: true; reply: Reply; messageTag?: string } | { ok: false; reason: string };

const isOpen = (policy: MessagingPolicy, sinceMs: number) =>
  policy.replyWindowMs === undefined || sinceMs < policy.replyWindowMs;

const duration = (ms: number) =>
  ms % 86_400_000 === 0 && ms > 86_400_000 ? `${ms / 86_400_000} days` : `${ms / 3_600_000} hours`;

/**
 * A human agent's reply under the channel's policy, `sinceMs` after the customer's last message
 * (Infinity: never wrote). Templates go where the channel has them, any time; otherwise the
 * human-agent window and tag when the channel has one, else the reply window.
 */
export function agentReplyVerdict(
  channel: { displayName: string; policy: MessagingPolicy },
  sinceMs: number,
  reply: Reply,
): PolicyVerdict {
  const { policy, displayName } = channel;
  if (reply.type === "template")
    return policy.templates ? { ok: true, reply } : { ok: false, reason: `${displayName} has no message templates` };
  if (policy.humanAgent) {
    if (sinceMs >= policy.humanAgent.windowMs)
      return {
        ok: false,
        reason: `${displayName} takes a human agent's reply only within ${duration(policy.humanAgent.windowMs)} of the customer's last message`,
      };
    return { ok: true, reply, messageTag: policy.humanAgent.tag };
  }
  if (isOpen(policy, sinceMs)) return { ok: true, reply };
  return {
    ok: false,
    reason: policy.templates
      ? `${displayName} takes only an approved template more than ${duration(policy.replyWindowMs!)} after the customer's last message`
      : `${displayName} takes no message more than ${duration(policy.replyWindowMs!)} after the customer's last message`,
  };
}

/**
 * A notification's text under the channel's policy, `sinceMs` after the customer's last message
 * (Infinity: never wrote): as it is inside the window; outside it, the template or tag the
 * notification gives for this channel (`outside`), or refused saying why.
 */
export function notificationVerdict(
  channel: { name: string; policy: MessagingPolicy },
  sinceMs: number,
  text: string,
  outside: OutsideWindowContent,
): PolicyVerdict {
  const { policy, name } = channel;
  if (policy.replyWindowMs === undefined || isOpen(policy, sinceMs)) return { ok: true, reply: { type: "text", text } };
  const window = `${policy.replyWindowMs / 3_600_000}-hour`;
  const kind = policy.outsideWindow?.kind;
  if (kind === "template") {
    if (!outside || !("template" in outside))
      return { ok: false, reason: `${name}: outside the ${window} window and no approved template` };
    const parameters = (outside.parameters ?? []).map((value) => ({ type: "text", text: value }));
    return {
      ok: true,
      reply: {
        type: "template",
        name: outside.template,
        language: outside.language,
        ...(parameters.length ? { components: [{ type: "body", parameters }] } : {}),
      },
    };
  }
  if (kind === "tag") {
    if (!outside || !("tag" in outside))
      return { ok: false, reason: `${name}: outside the ${window} window and no message tag` };
    return { ok: true, reply: { type: "text", text }, messageTag: outside.tag };
  }
  return { ok: false, reason: `${name}: outside the ${window} window` };
}
