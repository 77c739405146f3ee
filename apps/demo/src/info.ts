import { resolve } from "node:path";

/** Where the running demo tells `npm run chat` how to reach it. */
export const DEMO_INFO_FILE = resolve(process.env.DEMO_INFO_FILE ?? ".data/demo.json");

export interface DemoInfo {
  botName: string;
  webhookUrl: string;
  secretToken: string;
  botApiUrl: string;
}
