import type { ChannelDriver } from "@cb/core";
import { metaAccount, metaConnection, type MetaAccountSecrets } from "@cb/meta-graph";
import { Type, type Static } from "typebox";
import { welcomeEvents } from "./normalize.ts";
import { policy } from "./policy.ts";
import { LIMITS, render } from "./render.ts";
import { createSender } from "./sender.ts";
import { webhook } from "./webhook.ts";

const account = metaAccount("pageAccessToken", "The Page's access token");
export const Credentials = account.credentials;
export const Config = Type.Object({ pageId: Type.String({ minLength: 1, description: "The Facebook Page's id" }) });
export type MessengerSecrets = MetaAccountSecrets<typeof Credentials>;
export type MessengerConfig = Static<typeof Config>;

export const driver: ChannelDriver = {
  name: "messenger",
  displayName: "Messenger",
  ...account,
  config: Config,
  connection: metaConnection({
    subscribe: ["messages", "messaging_postbacks", "message_deliveries", "message_reads"],
    where: "Messenger > Settings > Webhooks",
  }),
  webhook,
  render,
  limits: LIMITS,
  createSender,
  policy,
  dialogflow: {
    source: "facebook",
    payloadKey: "facebook",
    platform: "FACEBOOK",
    importNames: ["facebook"],
    welcomeEvents,
  },
};
