import {
  platformLimiter,
  type ChannelAccount,
  type ChannelEnvironment,
  type ChannelSender,
  type SendLimits,
} from "@cb/core";
import { graphClient } from "@cb/meta-graph";
import type { InstagramConfig, InstagramSecrets } from "./driver.ts";
import { render } from "./render.ts";

// Instagram's Send API takes about 100 calls a second per professional account for text, links,
// reactions and stickers (developers.facebook.com/docs/messenger-platform/instagram/rate-limiting);
// shared by every process sending for the account.
const PER_ACCOUNT = { cap: 100, intervalMs: 1000 };

/**
 * Sends through the Messenger Platform's Send API (POST /me/messages with the linked Page's token).
 * Inside the 24-hour window messages go as RESPONSE; a human agent's after it as MESSAGE_TAG with
 * HUMAN_AGENT (SendContext.messageTag).
 */
export function createSender(account: ChannelAccount, env: ChannelEnvironment, limits: SendLimits): ChannelSender {
  const { pageAccessToken } = account.secrets as unknown as InstagramSecrets;
  const { instagramAccountId } = account.config as unknown as InstagramConfig;
  const graph = graphClient({ platform: "instagram", baseUrl: env.GRAPH_API_BASE_URL, version: env.GRAPH_API_VERSION });
  const limited = platformLimiter(limits, "instagram");
  const key = `instagram:${instagramAccountId}`;
  return {
    async send(to, reply, context) {
      const sent = [];
      for (const message of render(reply)) {
        const body = {
          recipient: { id: to.externalId },
          ...(context?.messageTag
            ? { messaging_type: "MESSAGE_TAG", tag: context.messageTag }
            : { messaging_type: "RESPONSE" }),
          message,
        };
        const result = await limited([{ key, ...PER_ACCOUNT }], key, () =>
          graph.post<{ message_id?: string }>("/me/messages", pageAccessToken, body, true),
        );
        sent.push({ platformMessageId: result.message_id ?? "", raw: result });
      }
      return sent;
    },
  };
}
