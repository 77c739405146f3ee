export { buildServer, type ServerDeps } from "./app.ts";
export { redactPaths } from "./logging.ts";
