import type { ChannelDriver } from "@cb/core";
import { createSlackSender } from "./sender.ts";
import { slackWebhook } from "./webhook.ts";

export {
  normalizeMessageEvent,
  normalizeBlockActions,
  type SlackMessageEvent,
  type BlockActionsPayload,
} from "./normalize.ts";
export { renderReply, escapeMrkdwn, LIMITS, type SlackMessage } from "./render.ts";
export { createSlackSender } from "./sender.ts";
export { createBoltApp, type SlackSecrets, type SlackConfig } from "./bolt.ts";
export { slackWebhook } from "./webhook.ts";
export { slackOAuth, installTicket, tenantOfTicket, type SlackOAuthOptions, type SlackInstallation } from "./oauth.ts";

export const slackDriver: ChannelDriver = {
  channel: "slack",
  webhook: slackWebhook(),
  createSender: createSlackSender,
};
