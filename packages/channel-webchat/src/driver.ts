import type { ChannelDriver } from "@cb/core";
import { createWebchatSender } from "./sender.ts";
import { webchatWebhook } from "./webhook.ts";

export const webchatDriver: ChannelDriver = {
  channel: "webchat",
  webhook: webchatWebhook,
  createSender: createWebchatSender,
};
