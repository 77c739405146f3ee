export { driver, Credentials, Config, type WhatsAppSecrets, type WhatsAppConfig } from "./driver.ts";
export { webhook } from "./webhook.ts";
export { normalize } from "./normalize.ts";
export { render, LIMITS, type WaMessage } from "./render.ts";
export { createSender, downloadMedia, whatsappGraph } from "./sender.ts";
export { policy } from "./policy.ts";
