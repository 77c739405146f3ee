export { driver, Credentials, Config, type TelegramSecrets, type TelegramConfig } from "./driver.ts";
export { webhook, secretTokenMatches, SECRET_HEADER } from "./webhook.ts";
export { normalize, welcomeEvents, type BotIdentity } from "./normalize.ts";
export { render, escapeHtml, dialogflowCall, LIMITS } from "./render.ts";
export { createSender, apiRoot } from "./sender.ts";
export { policy } from "./policy.ts";
