import {
  PlatformError,
  platformLimiter,
  type ChannelAccount,
  type ChannelEnvironment,
  type ChannelSender,
  type SendLimits,
} from "@cb/core";
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from "@slack/web-api";
import type { SlackSecrets } from "./driver.ts";
import { render } from "./render.ts";

// Slack allows about one message a second per channel (docs.slack.dev/apis/web-api/rate-limits);
// shared by every process sending to the same workspace.
const PER_CHANNEL = { cap: 1, intervalMs: 1000 };

function toPlatformError(err: unknown): PlatformError {
  if (err instanceof WebAPIRateLimitedError)
    return new PlatformError("slack", "rate_limited", "Slack rate limit", true, err.retryAfter * 1000);
  if (err instanceof WebAPIPlatformError)
    return new PlatformError("slack", err.data.error, `Slack refused: ${err.data.error}`, false);
  if (err instanceof WebAPIHTTPError)
    return new PlatformError(
      "slack",
      String(err.statusCode),
      `Slack answered HTTP ${err.statusCode}`,
      err.statusCode >= 500,
    );
  // Refused or reset connections, timeouts, a 429 without Retry-After: worth another try later.
  return new PlatformError("slack", "network", `Slack unreachable: ${(err as Error).message}`, true);
}

/** Sends through Bolt's WebClient (chat.postMessage), in the user's thread when they wrote in one. */
export function createSender(account: ChannelAccount, env: ChannelEnvironment, limits: SendLimits): ChannelSender {
  const { botToken } = account.secrets as unknown as SlackSecrets;
  const limited = platformLimiter(limits, "slack");
  // Retries are the job queue's business (it honours Retry-After); the client only reports.
  const client = new WebClient(botToken, {
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  return {
    reportsDelivery: false,
    async send(to, reply) {
      const sent = [];
      for (const message of render(reply)) {
        // chat.postMessage's limit is the channel's, and so is its Retry-After.
        const channel = `slack:${account.id}:${to.externalId}`;
        const result = await limited([{ key: channel, ...PER_CHANNEL }], channel, () =>
          client.chat
            .postMessage({
              ...message,
              channel: to.externalId,
              ...(to.threadId ? { thread_ts: to.threadId } : {}),
            } as Parameters<WebClient["chat"]["postMessage"]>[0])
            .catch((err: unknown) => {
              throw toPlatformError(err);
            }),
        );
        sent.push({ platformMessageId: result.ts ?? "", raw: result });
      }
      return sent;
    },
  };
}
