import type { ChannelDriver } from "@cb/core";
import { Type, type Static } from "typebox";
import { LIMITS, render } from "./render.ts";
import { createSender } from "./sender.ts";
import { policy } from "./policy.ts";
import { webchatWebhook } from "./webhook.ts";

/** What a business supplies: the key its server signs user ids with (identity verification). */
export const credentials = Type.Object({ identitySecret: Type.String({ minLength: 16, maxLength: 200 }) });
/** No settings: the widget's look is the embedding page's (its script tag's attributes). */
export const config = Type.Object({});
export type WebchatSecrets = Static<typeof credentials>;
export type WebchatConfig = Static<typeof config>;

/** What the business pastes into its pages, given the account's URL (…/webhooks/webchat/<account id>). */
export function setup(webhookUrl: string): { instructions: string; snippet: string } {
  const at = webhookUrl.lastIndexOf("/");
  const snippet = `<script src="${webhookUrl.slice(0, at)}/widget.js" data-account="${webhookUrl.slice(at + 1)}" async></script>`;
  return {
    instructions:
      "Paste the snippet before </body> on every page that shows the chat. To identify signed-in users, add " +
      'data-user-id="<their id>" and data-user-hash="<HMAC-SHA256 of the id with the identity secret, hex>", computed on your server.',
    snippet,
  };
}

/**
 * What the channel contract (branch `channels`, CONTRACT.md) adds to a driver and today's
 * ChannelDriver has no field for yet: at the merge these move into `driver`.
 */
export const contract = {
  name: "webchat",
  displayName: "Web chat",
  credentials,
  config,
  secretFields: ["identitySecret"],
  connection: { register: async (_account: unknown, webhookUrl: string) => setup(webhookUrl) },
  render,
  limits: LIMITS,
  policy,
  // Dialogflow has no web chat integration: no source; the channel's own payloads under "webchat".
  dialogflow: { payloadKey: "webchat", platform: "WEBCHAT" },
} as const;

export const driver: ChannelDriver = { channel: "webchat", webhook: webchatWebhook, createSender };
