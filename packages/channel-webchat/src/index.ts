export { webchatDriver } from "./driver.ts";
export { userHash, visitorOf, type Visitor, type WebchatSecrets } from "./identity.ts";
export { normalizePost, type VisitorPost } from "./normalize.ts";
export { renderReply, LIMITS, type WidgetContent } from "./render.ts";
export { createWebchatSender } from "./sender.ts";
export { VISITOR_LIMITS } from "./limits.ts";
export { widgetBundle } from "./bundle.ts";
export { webchatWebhook, MAX_TEXT } from "./webhook.ts";
