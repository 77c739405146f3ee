export { driver, Credentials, Config, type MessengerSecrets, type MessengerConfig } from "./driver.ts";
export { webhook } from "./webhook.ts";
export { normalize, welcomeEvents } from "./normalize.ts";
export { render, LIMITS, type MessengerMessage } from "./render.ts";
export { createSender } from "./sender.ts";
export { policy } from "./policy.ts";
