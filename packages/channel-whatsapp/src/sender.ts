import { keyedRateLimiter, type ChannelAccount, type ChannelEnvironment, type ChannelSender } from "@cb/core";
import { graphClient } from "@cb/meta-graph";
import { renderReply } from "./render.ts";

export interface WhatsAppSecrets {
  accessToken: string;
  appSecret: string;
  verifyToken: string;
}

export interface WhatsAppConfig {
  phoneNumberId: string;
  wabaId?: string;
}

// The Cloud API's default throughput is 80 messages a second per business phone number
// (developers.facebook.com/docs/whatsapp/throughput); shared by every sender of that number here.
const perNumber = keyedRateLimiter({ cap: 80, intervalMs: 1000 });

export function whatsappGraph(env: ChannelEnvironment) {
  return graphClient({ platform: "whatsapp", baseUrl: env.GRAPH_API_BASE_URL, version: env.GRAPH_API_VERSION });
}

/** Sends through POST /{phone-number-id}/messages with the account's access token. */
export function createWhatsAppSender(account: ChannelAccount, env: ChannelEnvironment): ChannelSender {
  const { accessToken } = account.secrets as unknown as WhatsAppSecrets;
  const { phoneNumberId } = account.config as unknown as WhatsAppConfig;
  const graph = whatsappGraph(env);
  const limiter = perNumber(phoneNumberId);
  return {
    async send(to, reply, context) {
      const sent = [];
      for (const message of renderReply(reply)) {
        const body = {
          messaging_product: "whatsapp",
          recipient_type: "individual",
          to: to.externalId,
          ...message,
          // Quote the customer's message when answering it, as WhatsApp users expect in busy chats.
          ...(context?.inReplyTo?.platformMessageId && !context.inReplyTo.postback
            ? { context: { message_id: context.inReplyTo.platformMessageId } }
            : {}),
        };
        const result = await limiter(() =>
          graph.post<{ messages?: { id: string }[] }>(`/${phoneNumberId}/messages`, accessToken, body),
        );
        sent.push({ platformMessageId: result.messages?.[0]?.id ?? "", raw: result });
      }
      return sent;
    },
  };
}

/** Media sent by a customer, fetched on demand: the Graph API gives a short-lived URL for the id. */
export async function downloadMedia(
  account: ChannelAccount,
  env: ChannelEnvironment,
  mediaId: string,
): Promise<{ mimeType: string; data: Buffer }> {
  const { accessToken } = account.secrets as unknown as WhatsAppSecrets;
  const meta = await whatsappGraph(env).get<{ url: string; mime_type: string }>(`/${mediaId}`, accessToken);
  const response = await fetch(meta.url, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`media download failed: HTTP ${response.status}`);
  return { mimeType: meta.mime_type, data: Buffer.from(await response.arrayBuffer()) };
}
