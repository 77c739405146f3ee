import {
  platformLimiter,
  type Budget,
  type ChannelAccount,
  type ChannelEnvironment,
  type ChannelSender,
  type Reply,
  type SendLimits,
} from "@cb/core";
import { graphClient } from "./graph.ts";

/** What differs between the channels that send through the Send API (Messenger, Instagram). */
export interface SendApiChannel<Config> {
  /** The channel's name: errors are reported and limits kept under it. */
  platform: string;
  /** The channel's render: a reply → Send API `message` objects, in sending order. */
  render(reply: Reply): object[];
  /**
   * The budget every process sending for the account shares, from the account's config; Meta's
   * throttling answers hold its key (the Send API's limits are the Page's, or the Instagram account's).
   */
  budget(config: Config): Budget;
}

/**
 * A channel's createSender through the Messenger Platform's Send API: POST /me/messages with the
 * account's `pageAccessToken` (both channels' credentials name the Page's token so). Inside the
 * 24-hour window messages go as RESPONSE; with a message tag (SendContext.messageTag) as
 * MESSAGE_TAG, the only way outside it (which tags a channel permits is its policy's).
 */
export function sendApiSender<Config>(channel: SendApiChannel<Config>) {
  return (account: ChannelAccount, env: ChannelEnvironment, limits: SendLimits): ChannelSender => {
    const { pageAccessToken } = account.secrets as { pageAccessToken: string };
    const budget = channel.budget(account.config as unknown as Config);
    const graph = graphClient({
      platform: channel.platform,
      baseUrl: env.GRAPH_API_BASE_URL,
      version: env.GRAPH_API_VERSION,
    });
    const limited = platformLimiter(limits, channel.platform);
    return {
      async send(to, reply, context) {
        const sent = [];
        for (const message of channel.render(reply)) {
          const body = {
            recipient: { id: to.externalId },
            ...(context?.messageTag
              ? { messaging_type: "MESSAGE_TAG", tag: context.messageTag }
              : { messaging_type: "RESPONSE" }),
            message,
          };
          const result = await limited([budget], budget.key, () =>
            graph.post<{ message_id?: string }>("/me/messages", pageAccessToken, body, true),
          );
          sent.push({ platformMessageId: result.message_id ?? "", raw: result });
        }
        return sent;
      },
    };
  };
}
