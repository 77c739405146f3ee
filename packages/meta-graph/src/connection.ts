import { randomToken, type ChannelConnection } from "@cb/core";

/**
 * Connecting a Meta account (WhatsApp, Messenger, Instagram): nothing to call, since Meta's
 * dashboard registers webhooks; a verify token is generated for the business to paste there with
 * the callback URL, and the fields to subscribe to are named.
 */
export function metaConnection(options: { subscribe: string[]; where: string }): ChannelConnection {
  return {
    async prepare() {
      return { secrets: { verifyToken: randomToken() } };
    },
    async register(account, webhookUrl) {
      return {
        callbackUrl: webhookUrl,
        verifyToken: account.secrets.verifyToken,
        subscribe: options.subscribe,
        instructions: `In the Meta app dashboard, ${options.where}: set the callback URL and verify token shown here, then subscribe to ${options.subscribe.join(", ")}.`,
      };
    },
  };
}
