export { driver, contract, setup, credentials, config, type WebchatSecrets, type WebchatConfig } from "./driver.ts";
export { userHash, visitorOf, type Visitor } from "./identity.ts";
export { normalize, type VisitorPost } from "./normalize.ts";
export { render, LIMITS, type WidgetContent } from "./render.ts";
export { createSender } from "./sender.ts";
export { policy } from "./policy.ts";
export { VISITOR_LIMITS } from "./limits.ts";
export { widgetBundle } from "./bundle.ts";
export { webchatWebhook, MAX_TEXT } from "./webhook.ts";
