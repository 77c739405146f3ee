import type { ChannelAccount } from "@cb/core";

/** A workspace connected by hand (its own app's bot token and signing secret). */
export const SIGNING_SECRET = "slack-signing-secret";
export const handConnected: ChannelAccount = {
  id: "8b1d6a8e-0000-4000-8000-000000000001",
  tenantId: "t",
  channel: "slack",
  config: { teamId: "T111", botUserId: "W111" },
  secrets: { botToken: "xoxb-test", signingSecret: SIGNING_SECRET },
};
