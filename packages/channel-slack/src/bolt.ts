import { App, LogLevel, type Receiver } from "@slack/bolt";
import type { ChannelAccount, InboundEvent } from "@cb/core";
import { normalize } from "./normalize.ts";
import type { SlackConfig } from "./driver.ts";

type Collect = (events: InboundEvent[]) => void;

/**
 * Bolt's App without a server of its own: the fastify route verifies each request and hands it
 * to `processEvent`; this receiver exists only to satisfy Bolt's Receiver interface.
 */
const routeReceiver = (): Receiver => ({ init: () => {}, start: async () => {}, stop: async () => {} });

/**
 * One Bolt App per connected workspace, its listeners composed the Bolt way. They do not answer:
 * they normalize and hand the events to the request's collector (passed in as a custom context
 * property), which the route stores durably before acknowledging Slack.
 */
export function createBoltApp(account: ChannelAccount): App {
  const { botUserId } = account.config as SlackConfig;
  const app = new App({
    receiver: routeReceiver(),
    // The listeners never call Slack (the sender does), and the normalizer drops the bot's own
    // messages: no token is needed, so no auth.test round trip is made per event.
    authorize: async () => ({}),
    logLevel: LogLevel.ERROR,
  });
  app.event("message", async ({ body, context }) => {
    (context.collect as Collect)(normalize(body, botUserId));
  });
  app.event("app_mention", async ({ body, context }) => {
    (context.collect as Collect)(normalize(body, botUserId));
  });
  app.event("app_home_opened", async ({ body, context }) => {
    (context.collect as Collect)(normalize(body, botUserId));
  });
  app.action({ type: "block_actions" }, async ({ ack, body, context }) => {
    await ack();
    (context.collect as Collect)(normalize(body, botUserId));
  });
  return app;
}
