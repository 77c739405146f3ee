import {
  keyedRateLimiter,
  PlatformError,
  type ChannelAccount,
  type ChannelEnvironment,
  type ChannelSender,
} from "@cb/core";
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from "@slack/web-api";
import type { SlackSecrets } from "./bolt.ts";
import { renderReply } from "./render.ts";

// Slack allows about one message a second per channel (docs.slack.dev/apis/web-api/rate-limits);
// shared by every sender of the same workspace in this process.
const perChannel = keyedRateLimiter({ cap: 1, intervalMs: 1000, concurrency: 1 });

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
export function createSlackSender(account: ChannelAccount, env: ChannelEnvironment): ChannelSender {
  const { botToken } = account.secrets as unknown as SlackSecrets;
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
      for (const message of renderReply(reply)) {
        const result = await perChannel(`${account.id}:${to.externalId}`)(() =>
          client.chat.postMessage({
            ...message,
            channel: to.externalId,
            ...(to.threadId ? { thread_ts: to.threadId } : {}),
          } as Parameters<WebClient["chat"]["postMessage"]>[0]),
        ).catch((err: unknown) => {
          throw toPlatformError(err);
        });
        sent.push({ platformMessageId: result.ts ?? "", raw: result });
      }
      return sent;
    },
  };
}
