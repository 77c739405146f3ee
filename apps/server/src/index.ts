export { buildServer, type ServerDeps } from "./app.ts";
export { operatorOptions, startWebRole } from "./role.ts";
export { installationSaver } from "./installations.ts";
