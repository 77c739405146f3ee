// The whole system in this process on a fresh database, as `npm start` runs it: the demo tenant,
// the Telegram Bot API stand-in, the demo backends, the web role (serving the built console) and
// a worker. The browser tests talk to it as a person and as Telegram would.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "@cb/db/testing";
import { DEMO_BOT, seedDemo, startShopPage } from "@cb/demo";
import { startDemoBackends } from "@cb/demo-backends";
import { startFakeTelegram, type FakeTelegram } from "@cb/fake-telegram";
import { createLogger } from "@cb/logging";
import { loadConfig, openRuntime, type Runtime } from "@cb/runtime";
import { startWebRole } from "@cb/server";
import { startWorkerRole } from "@cb/worker";

export const ADMIN_TOKEN = `e2e-admin-${randomBytes(12).toString("hex")}`;

export interface Stack {
  url: string;
  consoleUrl: string;
  botApi: FakeTelegram;
  demo: Awaited<ReturnType<typeof seedDemo>>;
  /** The system's database, for a history no test could wait for (the screenshots' past day). */
  db: Runtime["db"];
  /** The demo bot's webhook, as Telegram posts to it. */
  webhookUrl: string;
  /** The demo shop's page with the web chat widget (another origin, as a business's site is). */
  shopUrl: string;
  /** Stops the web role and starts it again on the same port (a deployment, a crash). */
  restartWeb(): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const database = await createTestDatabase();
  const botApi = await startFakeTelegram({ port: 0 });
  botApi.addBot(DEMO_BOT.token, { username: DEMO_BOT.username, firstName: DEMO_BOT.name });
  const keyDir = await mkdtemp(join(tmpdir(), "console-e2e-"));
  const config = loadConfig({
    DATABASE_URL: database.url,
    SECRETS_KEYS: `e2e:${randomBytes(32).toString("base64")}`,
    ADMIN_TOKEN,
    PORT: "0",
    TELEGRAM_API_ROOT: botApi.url,
    EGRESS_ALLOW: "127.0.0.1,localhost",
    EGRESS_ALLOW_HTTP: "true",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  const runtime = await openRuntime(config, createLogger({ level: config.LOG_LEVEL }));
  const demo = await seedDemo(runtime, { keyFile: join(keyDir, "demo-api-key") });
  const backends = await startDemoBackends({ port: 0, signingSecret: demo.signingSecret });
  await runtime.db.fulfillmentEndpoint.update({
    where: { id: demo.endpointId },
    data: { url: `${backends.url}/fulfillment` },
  });
  let web = await startWebRole(runtime, { port: 0 });
  if (!web.consoleUrl) throw new Error("the console is not built: run `npm run build` first");
  const port = Number(new URL(web.url).port);
  const worker = await startWorkerRole(runtime);
  const shop = await startShopPage({ port: 0, serverUrl: web.url, ...demo.webchat });
  return {
    url: web.url,
    consoleUrl: web.consoleUrl,
    botApi,
    demo,
    db: runtime.db,
    webhookUrl: `${web.url}/webhooks/telegram/${demo.accountId}`,
    shopUrl: shop.url,
    async restartWeb() {
      await web.close();
      web = await startWebRole(runtime, { port });
    },
    async close() {
      await web.close();
      await shop.close();
      await worker.stop();
      await backends.app.close();
      await botApi.close();
      await runtime.close();
      await database.drop();
      await rm(keyDir, { recursive: true, force: true });
    },
  };
}

// Telegram numbers a bot's updates in one sequence, across chats; the webhook drops a repeated one.
let updateId = Math.floor(Date.now() / 1000);

/** A Telegram user of the demo bot: each `say` is a real update posted to the webhook. */
export function telegramUser(stack: Stack, user: { id: number; firstName: string }) {
  let messageId = 1;
  return async function say(text: string): Promise<void> {
    const response = await fetch(stack.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": stack.demo.secretToken },
      body: JSON.stringify({
        update_id: ++updateId,
        message: {
          message_id: messageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: user.id, type: "private", first_name: user.firstName },
          from: { id: user.id, is_bot: false, first_name: user.firstName },
          text,
        },
      }),
    });
    if (!response.ok) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
  };
}

/** The admin API with a key or the deployment's token. */
export async function apiCall<T>(
  stack: Stack,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(stack.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
