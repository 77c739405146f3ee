export { driver, Credentials, Config, type InstagramSecrets, type InstagramConfig } from "./driver.ts";
export { webhook } from "./webhook.ts";
export { normalize } from "./normalize.ts";
export { render, LIMITS, type InstagramMessage } from "./render.ts";
export { createSender } from "./sender.ts";
export { policy } from "./policy.ts";
