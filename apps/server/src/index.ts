export { buildServer, type ServerDeps } from "./app.ts";
export { operatorOptions, startWebRole } from "./role.ts";
export { slackInstallationSaver } from "./slack-installations.ts";
