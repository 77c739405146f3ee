export { driver, Credentials, Config, setup, type WebchatSecrets, type WebchatConfig } from "./driver.ts";
export { webhook, MAX_TEXT } from "./webhook.ts";
export { normalize, type VisitorPost } from "./normalize.ts";
export { render, LIMITS, type WidgetContent } from "./render.ts";
export { createSender } from "./sender.ts";
export { policy } from "./policy.ts";
export { userHash, visitorOf, type Visitor } from "./identity.ts";
export { VISITOR_LIMITS } from "./limits.ts";
export { widgetBundle } from "./bundle.ts";
