import { dirname, resolve } from "node:path";

/** Where the running demo tells `npm run chat` how to reach it. */
export const DEMO_INFO_FILE = resolve(process.env.DEMO_INFO_FILE ?? ".data/demo.json");

/** The demo tenant's admin API key, kept beside it (keys are shown only once). */
export const DEMO_API_KEY_FILE = resolve(dirname(DEMO_INFO_FILE), "demo-api-key");

export interface DemoInfo {
  botName: string;
  /** The server's base URL (webhooks and the admin API). */
  serverUrl: string;
  accountId: string;
  webhookUrl: string;
  secretToken: string;
  botApiUrl: string;
}
