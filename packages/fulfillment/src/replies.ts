import type { Button, Channel, Reply } from "@cb/core";
import { platformOf, type Message, type WebhookResponse } from "./dialogflow.ts";
import { platformPayload } from "./payloads.ts";

const isUrl = (s: string) => /^https?:\/\//i.test(s);

function toReply(message: Message, channel: Channel): Reply | undefined {
  if (message.text) return { type: "text", text: (message.text.text ?? []).join("\n") };
  if (message.image?.imageUri)
    return {
      type: "image",
      url: message.image.imageUri,
      ...(message.image.accessibilityText ? { caption: message.image.accessibilityText } : {}),
    };
  if (message.quickReplies) {
    const options = message.quickReplies.quickReplies ?? [];
    return {
      type: "text",
      text: message.quickReplies.title || "Choose one:",
      quickReplies: options.map((o) => ({ title: o, payload: o })),
    };
  }
  if (message.card) {
    const buttons: Button[] = (message.card.buttons ?? []).map((b) => {
      const title = b.text ?? b.postback ?? "";
      const postback = b.postback ?? title;
      return isUrl(postback) ? { type: "url", title, url: postback } : { type: "postback", title, payload: postback };
    });
    return {
      type: "cards",
      cards: [
        {
          title: message.card.title ?? "",
          ...(message.card.subtitle ? { subtitle: message.card.subtitle } : {}),
          ...(message.card.imageUri ? { imageUrl: message.card.imageUri } : {}),
          ...(buttons.length ? { buttons } : {}),
        },
      ],
    };
  }
  return platformPayload(message.payload, channel);
}

/**
 * A WebhookResponse as replies for one channel: that platform's messages when there are any, else
 * the platform-independent ones, else fulfillmentText; a top-level `payload` for the channel adds a
 * custom reply.
 */
export function toReplies(response: WebhookResponse, channel: Channel): Reply[] {
  const messages = response.fulfillmentMessages ?? [];
  const mine = messages.filter((m) => m.platform === platformOf(channel));
  const generic = messages.filter((m) => !m.platform || m.platform === "PLATFORM_UNSPECIFIED");
  const chosen = mine.length ? mine : generic;
  const replies = chosen.map((m) => toReply(m, channel)).filter((r): r is Reply => r !== undefined);
  if (!replies.length && response.fulfillmentText) replies.push({ type: "text", text: response.fulfillmentText });
  const own = platformPayload(response.payload, channel);
  if (own) replies.push(own);
  return replies;
}
