export { loadConfig, channelEnvironment, type Config } from "./config.ts";
export { openRuntime, channelDrivers, type Runtime } from "./runtime.ts";
