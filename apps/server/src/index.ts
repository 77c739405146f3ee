export { buildServer, type ServerDeps } from "./app.ts";
export { startWebRole } from "./role.ts";
export { redactPaths, redactQuery } from "./logging.ts";
export { slackInstallationSaver } from "./slack-installations.ts";
