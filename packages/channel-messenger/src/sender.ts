import { sendApiSender } from "@cb/meta-graph";
import type { MessengerConfig } from "./driver.ts";
import { render } from "./render.ts";

// The Send API takes 300 calls a second per Page for text, links and stickers, but a Page sending
// more than 40 messages a second has its inbox stop sending until the volume decreases
// (developers.facebook.com/docs/messenger-platform/overview/rate-limiting): 40, shared by every
// process sending for the Page. (No reply here is audio or video, which has 10 a second.)
const PER_PAGE = { cap: 40, intervalMs: 1000 };

/**
 * Sends through the Send API with the Page's token. Inside the 24-hour window messages go as
 * RESPONSE; with a message tag (SendContext.messageTag) as MESSAGE_TAG, the only way outside it.
 */
export const createSender = sendApiSender({
  platform: "messenger",
  render,
  budget: (config: MessengerConfig) => ({ key: `messenger:${config.pageId}`, ...PER_PAGE }),
});
