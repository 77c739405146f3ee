import type { ChannelDriver } from "@cb/core";
import { metaAccount, metaConnection, type MetaAccountSecrets } from "@cb/meta-graph";
import { Type, type Static } from "typebox";
import { policy } from "./policy.ts";
import { LIMITS, render } from "./render.ts";
import { createSender } from "./sender.ts";
import { webhook } from "./webhook.ts";

const account = metaAccount(
  "pageAccessToken",
  "The access token of the Facebook Page linked to the Instagram professional account",
);
export const Credentials = account.credentials;
export const Config = Type.Object({
  instagramAccountId: Type.String({ minLength: 1, description: "The Instagram professional account's id (IGID)" }),
});
export type InstagramSecrets = MetaAccountSecrets<typeof Credentials>;
export type InstagramConfig = Static<typeof Config>;

export const driver: ChannelDriver = {
  name: "instagram",
  displayName: "Instagram",
  ...account,
  config: Config,
  connection: metaConnection({
    subscribe: ["messages", "messaging_postbacks", "message_reactions", "messaging_seen"],
    where: "Instagram > Webhooks (the Instagram object)",
  }),
  webhook,
  render,
  limits: LIMITS,
  createSender,
  policy,
  // Dialogflow has no Instagram integration: no source; Instagram payloads go under "instagram".
  dialogflow: { payloadKey: "instagram", platform: "INSTAGRAM" },
};
