export { adminApi } from "./plugin.ts";
export type { AdminApiOptions, OperatorOptions } from "./context.ts";
export { hashPassword, verifyPassword } from "./passwords.ts";
export { authenticateApiKey, newKey, SCOPES, type ApiPrincipal, type Scope } from "./keys.ts";
export { readAgentZip } from "./dialogflow-import.ts";
