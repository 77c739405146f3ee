import { randomUUID } from "node:crypto";
import type { ChannelAccount, ChannelEnvironment, ChannelSender, SendLimits, SentMessage } from "@cb/core";
import { render } from "./render.ts";

/**
 * The web chat has no platform to call: a reply is already stored as an outbound row before it is
 * sent (packages/conversation, outbound.ts), and recording it sent fires the database's live
 * notification (migration 20261207020000_live_updates), which every web process hears; the one
 * holding the visitor's stream reads the row and delivers it (stream.ts). So sending only renders,
 * refusing a reply the widget must not show, and names each part.
 */
export function createSender(_account: ChannelAccount, _env: ChannelEnvironment, _limits: SendLimits): ChannelSender {
  return {
    // Delivery is the visitor's stream reading the row: nothing reports it later.
    reportsDelivery: false,
    async send(_to, reply): Promise<SentMessage[]> {
      return render(reply).map((content) => ({ platformMessageId: randomUUID(), raw: content }));
    },
  };
}
