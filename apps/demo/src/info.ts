import { dirname, resolve } from "node:path";

/** Where the running demo tells `npm run chat` how to reach it. */
export const DEMO_INFO_FILE = resolve(process.env.DEMO_INFO_FILE ?? ".data/demo.json");

/** The demo tenant's admin API key, kept beside it (keys are shown only once). */
export const DEMO_API_KEY_FILE = resolve(dirname(DEMO_INFO_FILE), "demo-api-key");

/** The password of the demo tenant's admin operator (demo@example.com), to sign in to the console. */
export const DEMO_OPERATOR_PASSWORD_FILE = resolve(dirname(DEMO_INFO_FILE), "demo-operator-password");

export interface DemoInfo {
  botName: string;
  /** The server's base URL (webhooks and the admin API). */
  serverUrl: string;
  accountId: string;
  webhookUrl: string;
  secretToken: string;
  botApiUrl: string;
}
