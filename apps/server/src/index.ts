export { buildServer, type ServerDeps } from "./app.ts";
export { startWebRole } from "./role.ts";
export { slackInstallationSaver } from "./slack-installations.ts";
