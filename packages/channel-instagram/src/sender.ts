import { sendApiSender } from "@cb/meta-graph";
import type { InstagramConfig } from "./driver.ts";
import { render } from "./render.ts";

// Instagram's Send API takes about 100 calls a second per professional account for text, links,
// reactions and stickers (developers.facebook.com/docs/messenger-platform/instagram/rate-limiting);
// shared by every process sending for the account.
const PER_ACCOUNT = { cap: 100, intervalMs: 1000 };

/**
 * Sends through the Messenger Platform's Send API with the linked Page's token. Inside the 24-hour
 * window messages go as RESPONSE; a human agent's after it as MESSAGE_TAG with HUMAN_AGENT
 * (SendContext.messageTag).
 */
export const createSender = sendApiSender({
  platform: "instagram",
  render,
  budget: (config: InstagramConfig) => ({ key: `instagram:${config.instagramAccountId}`, ...PER_ACCOUNT }),
});
