import type { ChannelDriver } from "@cb/core";
import { Type, type Static } from "typebox";
import { policy } from "./policy.ts";
import { APP_HOME_OPENED } from "./normalize.ts";
import { install } from "./oauth.ts";
import { LIMITS, render } from "./render.ts";
import { createSender } from "./sender.ts";
import { webhook } from "./webhook.ts";

export const Credentials = Type.Object({
  botToken: Type.String({ minLength: 1, description: "The bot user's OAuth token (xoxb-…)" }),
  signingSecret: Type.String({ minLength: 1, description: "The Slack app's signing secret" }),
});
export const Config = Type.Object({
  teamId: Type.Optional(Type.String({ description: "The workspace's id: routes the shared OAuth URL" })),
  /** The bot's own user id: its messages are not answered, its mentions are stripped. */
  botUserId: Type.Optional(Type.String({ description: "The bot's user id (its own messages are ignored)" })),
});
export type SlackSecrets = Static<typeof Credentials>;
export type SlackConfig = Static<typeof Config>;

export const driver: ChannelDriver = {
  name: "slack",
  displayName: "Slack",
  credentials: Credentials,
  config: Config,
  secretFields: ["botToken", "signingSecret"],
  secretHeaders: ["x-slack-signature"],
  settings: {
    SLACK_API_URL: { description: "the Slack Web API", url: true },
    SLACK_CLIENT_ID: { description: "the client id of the Slack app installed through OAuth" },
    SLACK_CLIENT_SECRET: { description: "that app's client secret", secret: true },
    SLACK_SIGNING_SECRET: { description: "that app's signing secret", secret: true },
    SLACK_STATE_SECRET: { description: "signs install links and OAuth state", secret: true, minLength: 16 },
    SLACK_AUTHORIZE_URL: { description: "Slack's authorize page", url: true },
  },
  // The app installed through OAuth in many workspaces verifies their shared URL with its own secret.
  appSecrets: { signingSecret: "SLACK_SIGNING_SECRET" },
  install,
  connection: {
    async register(_account, webhookUrl) {
      return {
        eventSubscriptionsUrl: webhookUrl,
        interactivityUrl: webhookUrl,
        botEvents: ["message.im", "app_mention", "app_home_opened"],
        scopes: ["chat:write", "im:history", "app_mentions:read"],
        instructions:
          "In the Slack app's settings: Event Subscriptions > Request URL and Interactivity > Request URL take the URL shown here; subscribe to the bot events and add the scopes listed, then reinstall the app. App Home > Messages Tab on lets customers open a conversation with the bot (the welcome fires at their first visit).",
      };
    },
  },
  webhook,
  render,
  limits: LIMITS,
  createSender,
  policy,
  dialogflow: {
    source: "slack",
    payloadKey: "slack",
    platform: "SLACK",
    importNames: ["slack"],
    // A customer's first visit to the app's Messages tab, as Dialogflow's Slack integration greets.
    welcomeEvents: (message) => (message.command?.name === APP_HOME_OPENED ? ["SLACK_WELCOME", "WELCOME"] : []),
  },
};
