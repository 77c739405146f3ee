import type { InboundEvent } from "@cb/core";
import type { Visitor } from "./identity.ts";

/** What the widget posts (schema in webhook.ts): a typed text or a pressed button's payload. */
export interface VisitorPost {
  /** The widget's own id for the message: its retries are stored once. */
  clientId: string;
  text?: string;
  postback?: { payload: string; title?: string };
}

/** A visitor's post → the normalized inbound message, in a one-to-one conversation of its own. */
export function normalize(visitor: Visitor, post: VisitorPost, now: Date): InboundEvent {
  return {
    type: "message",
    message: {
      channel: "webchat",
      platformEventId: `${visitor.externalId}:${post.clientId}`,
      platformMessageId: post.clientId,
      conversation: { externalId: visitor.externalId, type: "private" },
      sender: { externalId: visitor.externalId },
      sentAt: now.toISOString(),
      ...(post.text !== undefined ? { text: post.text } : {}),
      ...(post.postback
        ? {
            postback: {
              payload: post.postback.payload,
              ...(post.postback.title ? { title: post.postback.title } : {}),
            },
          }
        : {}),
    },
    raw: post,
  };
}
