import type { ChannelDriver } from "@cb/core";
import { Type, type Static } from "typebox";
import { policy } from "./policy.ts";
import { LIMITS, render } from "./render.ts";
import { createSender } from "./sender.ts";
import { webhook } from "./webhook.ts";

export const Credentials = Type.Object({
  identitySecret: Type.String({
    minLength: 16,
    maxLength: 200,
    description: "The key the business's server signs its users' ids with (HMAC-SHA256), e.g. `openssl rand -hex 32`",
  }),
});
/** No settings: the widget's look is the embedding page's (its script tag's attributes). */
export const Config = Type.Object({});
export type WebchatSecrets = Static<typeof Credentials>;
export type WebchatConfig = Static<typeof Config>;

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

export const driver: ChannelDriver = {
  name: "webchat",
  displayName: "Web chat",
  credentials: Credentials,
  config: Config,
  secretFields: ["identitySecret"],
  connection: { register: async (_account, webhookUrl) => setup(webhookUrl) },
  webhook,
  render,
  limits: LIMITS,
  createSender,
  policy,
  // Dialogflow has no web chat integration: no source; the channel's own payloads under "webchat".
  dialogflow: { payloadKey: "webchat", platform: "WEBCHAT" },
};
