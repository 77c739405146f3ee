export {
  loadConfig,
  loadRoleConfig,
  channelEnvironment,
  ConfigError,
  REQUIRED_SETTINGS,
  type Config,
  type Role,
} from "./config.ts";
export { openRuntime, channelDrivers, type Runtime } from "./runtime.ts";
