import type { ChannelDriver } from "@cb/core";
import { metaAccount, metaConnection, type MetaAccountSecrets } from "@cb/meta-graph";
import { Type, type Static } from "typebox";
import { policy } from "./policy.ts";
import { LIMITS, render } from "./render.ts";
import { createSender } from "./sender.ts";
import { webhook } from "./webhook.ts";

const account = metaAccount("accessToken", "A system user's access token with whatsapp_business_messaging");
export const Credentials = account.credentials;
export const Config = Type.Object({
  phoneNumberId: Type.String({ minLength: 1, description: "The business phone number's id" }),
  wabaId: Type.Optional(Type.String({ description: "The WhatsApp Business Account's id" })),
});
export type WhatsAppSecrets = MetaAccountSecrets<typeof Credentials>;
export type WhatsAppConfig = Static<typeof Config>;

export const driver: ChannelDriver = {
  name: "whatsapp",
  displayName: "WhatsApp",
  ...account,
  config: Config,
  connection: metaConnection({ subscribe: ["messages"], where: "WhatsApp > Configuration > Webhook" }),
  webhook,
  render,
  limits: LIMITS,
  createSender,
  policy,
  // Dialogflow has no WhatsApp integration: requests carry no source (fulfillment libraries then
  // answer with platform-independent messages), and WhatsApp payloads go under "whatsapp".
  dialogflow: { payloadKey: "whatsapp", platform: "WHATSAPP" },
};
