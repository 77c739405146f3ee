import {
  platformLimiter,
  type ChannelAccount,
  type ChannelEnvironment,
  type ChannelSender,
  type SendLimits,
} from "@cb/core";
import { graphClient } from "@cb/meta-graph";
import type { WhatsAppConfig, WhatsAppSecrets } from "./driver.ts";
import { render } from "./render.ts";

// The Cloud API's default throughput is 80 messages a second per business phone number
// (developers.facebook.com/docs/whatsapp/throughput); shared by every process sending from it.
const PER_NUMBER = { cap: 80, intervalMs: 1000 };
// Error 131056 (pair rate limit) is about one customer; the other throttling codes the number's.
const PAIR_RATE_LIMITED = "131056";

export function whatsappGraph(env: ChannelEnvironment) {
  return graphClient({ platform: "whatsapp", baseUrl: env.GRAPH_API_BASE_URL, version: env.GRAPH_API_VERSION });
}

/** Sends through POST /{phone-number-id}/messages with the account's access token. */
export function createSender(account: ChannelAccount, env: ChannelEnvironment, limits: SendLimits): ChannelSender {
  const { accessToken } = account.secrets as unknown as WhatsAppSecrets;
  const { phoneNumberId } = account.config as unknown as WhatsAppConfig;
  const graph = whatsappGraph(env);
  const limited = platformLimiter(limits, "whatsapp");
  const number = `whatsapp:${phoneNumberId}`;
  return {
    async send(to, reply, context) {
      const sent = [];
      const pair = `${number}:${to.externalId}`;
      for (const message of render(reply)) {
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
        const result = await limited(
          [{ key: number, ...PER_NUMBER }, { key: pair }],
          (err) => (err.code === PAIR_RATE_LIMITED ? pair : number),
          () => graph.post<{ messages?: { id: string }[] }>(`/${phoneNumberId}/messages`, accessToken, body),
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
