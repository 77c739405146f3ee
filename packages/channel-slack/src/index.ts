export { driver, Credentials, Config, type SlackSecrets, type SlackConfig } from "./driver.ts";
export { webhook, slackWebhook } from "./webhook.ts";
export { normalize } from "./normalize.ts";
export { render, escapeMrkdwn, LIMITS, type SlackMessage } from "./render.ts";
export { createSender } from "./sender.ts";
export { policy } from "./policy.ts";
export { createBoltApp } from "./bolt.ts";
export {
  slackOAuth,
  install,
  installTicket,
  tenantOfTicket,
  type SlackOAuthOptions,
  type SlackInstallation,
} from "./oauth.ts";
