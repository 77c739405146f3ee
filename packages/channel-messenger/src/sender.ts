import {
  platformLimiter,
  type ChannelAccount,
  type ChannelEnvironment,
  type ChannelSender,
  type SendLimits,
} from "@cb/core";
import { graphClient } from "@cb/meta-graph";
import type { MessengerConfig, MessengerSecrets } from "./driver.ts";
import { render } from "./render.ts";

// The Send API takes 300 calls a second per Page for text, links and stickers, but a Page sending
// more than 40 messages a second has its inbox stop sending until the volume decreases
// (developers.facebook.com/docs/messenger-platform/overview/rate-limiting): 40, shared by every
// process sending for the Page. (No reply here is audio or video, which has 10 a second.)
const PER_PAGE = { cap: 40, intervalMs: 1000 };

/**
 * Sends through the Send API (POST /me/messages). Inside the 24-hour window messages go as
 * RESPONSE; with a message tag (SendContext.messageTag) as MESSAGE_TAG, the only way outside it.
 */
export function createSender(account: ChannelAccount, env: ChannelEnvironment, limits: SendLimits): ChannelSender {
  const { pageAccessToken } = account.secrets as unknown as MessengerSecrets;
  const { pageId } = account.config as unknown as MessengerConfig;
  const graph = graphClient({ platform: "messenger", baseUrl: env.GRAPH_API_BASE_URL, version: env.GRAPH_API_VERSION });
  const limited = platformLimiter(limits, "messenger");
  const page = `messenger:${pageId}`;
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
        // Meta's throttling codes for the Send API are the Page's.
        const result = await limited([{ key: page, ...PER_PAGE }], page, () =>
          graph.post<{ message_id?: string }>("/me/messages", pageAccessToken, body, true),
        );
        sent.push({ platformMessageId: result.message_id ?? "", raw: result });
      }
      return sent;
    },
  };
}
