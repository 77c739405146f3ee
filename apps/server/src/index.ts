export { buildServer, type ServerDeps } from "./app.ts";
export { startWebRole } from "./role.ts";
export { redactPaths } from "./logging.ts";
export { slackInstallationSaver } from "./slack-installations.ts";
