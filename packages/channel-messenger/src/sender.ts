import type { ChannelAccount, ChannelEnvironment, ChannelSender } from "@cb/core";
import { graphClient } from "@cb/meta-graph";
import { renderReply } from "./render.ts";

export interface MessengerSecrets {
  pageAccessToken: string;
  appSecret: string;
  verifyToken: string;
}

/**
 * Sends through the Send API (POST /me/messages). Inside the 24-hour window messages go as
 * RESPONSE; with a message tag (SendContext.messageTag) as MESSAGE_TAG, the only way outside it.
 */
export function createMessengerSender(account: ChannelAccount, env: ChannelEnvironment): ChannelSender {
  const { pageAccessToken } = account.secrets as unknown as MessengerSecrets;
  const graph = graphClient({ platform: "messenger", baseUrl: env.GRAPH_API_BASE_URL, version: env.GRAPH_API_VERSION });
  return {
    async send(to, reply, context) {
      const sent = [];
      for (const message of renderReply(reply)) {
        const body = {
          recipient: { id: to.externalId },
          ...(context?.messageTag
            ? { messaging_type: "MESSAGE_TAG", tag: context.messageTag }
            : { messaging_type: "RESPONSE" }),
          message,
        };
        const result = await graph.post<{ message_id?: string }>("/me/messages", pageAccessToken, body, true);
        sent.push({ platformMessageId: result.message_id ?? "", raw: result });
      }
      return sent;
    },
  };
}
