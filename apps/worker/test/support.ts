import { spawn, type ChildProcess } from "node:child_process";
import { postgresSendLimits } from "@cb/core";
import { createHmac } from "node:crypto";
import { driver as messengerDriver } from "@cb/channel-messenger";
import { driver as slackDriver } from "@cb/channel-slack";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { driver as whatsappDriver } from "@cb/channel-whatsapp";
import { createAccountDirectory, createIngestor, type IngestorOptions } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { startFakeSlack, type FakeSlack } from "@cb/fake-slack";
import { startFakeTelegram, type FakeTelegram } from "@cb/fake-telegram";
import { hubSignature } from "@cb/meta-graph";
import { createSealer, generateKey, parseKeyRing, type Sealer } from "@cb/secrets";
import { buildServer } from "@cb/server";
import type { Logger } from "@cb/logging";
import type { FastifyInstance } from "fastify";
import { startWorkerRole } from "../src/index.ts";

export const BOT_TOKEN = "424242:test-bot-token";
export const SECRET_TOKEN = "webhook-secret_1";
export const APP_SECRET = "meta-app-secret";
export const WA_PHONE_ID = "1122334455667";
export const SLACK_SIGNING_SECRET = "slack-signing-secret";

/** A tenant with a Telegram bot, on a fresh database, with the web and worker roles running. */
export interface Stack {
  t: TestDatabase;
  sealer: Sealer;
  keys: string;
  telegram: FakeTelegram;
  graph: FakeGraph;
  slack: FakeSlack;
  app: FastifyInstance;
  tenantId: string;
  accountId: string;
  whatsappAccountId: string;
  messengerAccountId: string;
  slackAccountId: string;
  worker: Awaited<ReturnType<typeof startWorkerRole>> | undefined;
  startWorker(): Promise<void>;
  post(update: object): Promise<number>;
  /** Posts a Meta webhook body, signed as Meta signs it. */
  postMeta(channel: "whatsapp" | "messenger", body: object): Promise<number>;
  /** Posts a Slack request (JSON or form-encoded), signed as Slack signs it. */
  postSlack(body: string, contentType?: string): Promise<number>;
  close(): Promise<void>;
}

export async function startStack(
  options: {
    worker?: boolean;
    ingest?: Omit<IngestorOptions, "connectionString">;
    answering?: Parameters<typeof startWorkerRole>[0]["answering"];
    /** Where both roles log (nothing by default). */
    logger?: Logger;
    /** Serve GET /metrics on the web role. */
    metrics?: boolean;
  } = {},
): Promise<Stack> {
  const t = await createTestDatabase();
  const keys = generateKey("test");
  const sealer = createSealer(parseKeyRing(keys));
  const telegram = await startFakeTelegram();
  telegram.addBot(BOT_TOKEN, { username: "ShopBot" });
  const tenant = await t.db.tenant.create({ data: { name: "Demo Shop", timezone: "Europe/Berlin" } });
  const account = await t.db.channelAccount.create({
    data: {
      tenantId: tenant.id,
      channel: "telegram",
      name: "Shop bot",
      config: { botId: 424242, username: "ShopBot" },
      secrets: sealer.sealJson({ botToken: BOT_TOKEN, secretToken: SECRET_TOKEN }),
    },
  });
  const graph = await startFakeGraph();
  graph.addPhoneNumber(WA_PHONE_ID, "EAAG-wa-token");
  graph.addPageToken("EAA-page-token");
  const whatsapp = await t.db.channelAccount.create({
    data: {
      tenantId: tenant.id,
      channel: "whatsapp",
      name: "Shop WhatsApp",
      config: { phoneNumberId: WA_PHONE_ID },
      secrets: sealer.sealJson({ accessToken: "EAAG-wa-token", appSecret: APP_SECRET, verifyToken: "v" }),
    },
  });
  const messenger = await t.db.channelAccount.create({
    data: {
      tenantId: tenant.id,
      channel: "messenger",
      name: "Shop page",
      config: { pageId: "1895382890692545" },
      secrets: sealer.sealJson({ pageAccessToken: "EAA-page-token", appSecret: APP_SECRET, verifyToken: "v" }),
    },
  });
  const slackApi = await startFakeSlack();
  slackApi.addToken("xoxb-shop", { botUserId: "UBOT" });
  const slackAccount = await t.db.channelAccount.create({
    data: {
      tenantId: tenant.id,
      channel: "slack",
      name: "Shop Slack",
      config: { teamId: "T111", botUserId: "UBOT" },
      secrets: sealer.sealJson({ botToken: "xoxb-shop", signingSecret: SLACK_SIGNING_SECRET }),
    },
  });
  const drivers = [telegramDriver, whatsappDriver, messengerDriver, slackDriver];
  const accounts = createAccountDirectory({
    db: t.db,
    sealer,
    drivers,
    env: { TELEGRAM_API_ROOT: telegram.url, GRAPH_API_BASE_URL: graph.url, SLACK_API_URL: slackApi.url },
    limits: postgresSendLimits(t.pool),
  });
  const ingestor = createIngestor({ connectionString: t.url, ...options.ingest });
  const app = await buildServer({
    db: t.db,
    accounts,
    ingestor,
    drivers,
    admin: { db: t.db, sealer, channelEnv: {}, operatorToken: "operator-token-for-tests" },
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metrics ? { metrics: {} } : {}),
  });
  const stack: Stack = {
    t,
    sealer,
    keys,
    telegram,
    graph,
    slack: slackApi,
    app,
    tenantId: tenant.id,
    accountId: account.id,
    whatsappAccountId: whatsapp.id,
    messengerAccountId: messenger.id,
    slackAccountId: slackAccount.id,
    worker: undefined,
    async startWorker() {
      stack.worker = await startWorkerRole({
        databaseUrl: t.url,
        db: t.db,
        pool: t.pool,
        sealer,
        accounts,
        ...(options.answering ? { answering: options.answering } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
        config: {
          WORKER_CONCURRENCY: 4,
          WORKER_HEARTBEAT_MS: 300,
          WORKER_DEAD_AFTER_MS: 1000,
          EGRESS_ALLOW: "127.0.0.1",
          EGRESS_ALLOW_HTTP: "true",
        },
      });
    },
    async post(update) {
      const response = await app.inject({
        method: "POST",
        url: `/webhooks/telegram/${account.id}`,
        headers: { "x-telegram-bot-api-secret-token": SECRET_TOKEN },
        payload: update,
      });
      return response.statusCode;
    },
    async postMeta(channel, body) {
      const raw = JSON.stringify(body);
      const id = channel === "whatsapp" ? whatsapp.id : messenger.id;
      const response = await app.inject({
        method: "POST",
        url: `/webhooks/${channel}/${id}`,
        headers: { "content-type": "application/json", "x-hub-signature-256": hubSignature(raw, APP_SECRET) },
        payload: raw,
      });
      return response.statusCode;
    },
    async postSlack(body, contentType = "application/json") {
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = `v0=${createHmac("sha256", SLACK_SIGNING_SECRET).update(`v0:${timestamp}:${body}`).digest("hex")}`;
      const response = await app.inject({
        method: "POST",
        url: `/webhooks/slack/${slackAccount.id}`,
        headers: {
          "content-type": contentType,
          "x-slack-request-timestamp": String(timestamp),
          "x-slack-signature": signature,
        },
        payload: body,
      });
      return response.statusCode;
    },
    async close() {
      await stack.worker?.stop();
      await slackApi.close();
      await app.close();
      await ingestor.close();
      await telegram.close();
      await graph.close();
      await t.drop();
    },
  };
  if (options.worker !== false) await stack.startWorker();
  return stack;
}

/** A support-ticket intent fulfilled by the backend at `url`, beside a greeting: a turn that calls a backend. */
export async function addTicketIntent(stack: Stack, url: string): Promise<void> {
  const endpoint = await stack.t.db.fulfillmentEndpoint.create({
    data: { tenantId: stack.tenantId, name: "tickets", url },
  });
  await stack.t.db.intent.create({
    data: {
      tenantId: stack.tenantId,
      name: "support.ticket",
      examples: ["open a support ticket", "I need help from a human", "talk to support"],
      fulfillmentEndpointId: endpoint.id,
    },
  });
  await stack.t.db.intent.create({
    data: { tenantId: stack.tenantId, name: "greeting", examples: ["hello", "hi there"] },
  });
}

/** The worker role in a process of its own (`apps/worker/src/main.ts`), on the stack's database and fakes. */
export function spawnWorker(stack: Stack, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", new URL("../src/main.ts", import.meta.url).pathname], {
    env: {
      ...process.env,
      DATABASE_URL: stack.t.url,
      SECRETS_KEYS: stack.keys,
      TELEGRAM_API_ROOT: stack.telegram.url,
      EGRESS_ALLOW: "127.0.0.1",
      EGRESS_ALLOW_HTTP: "true",
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

let nextUpdate = 1000;
export function textUpdate(text: string, chatId = 1111111) {
  const id = nextUpdate++;
  return {
    update_id: id,
    message: {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: "Ada" },
      from: { id: chatId, is_bot: false, first_name: "Ada" },
      text,
    },
  };
}

export function buttonPress(data: string, chatId = 1111111, messageId = 1) {
  const id = nextUpdate++;
  return {
    update_id: id,
    callback_query: {
      id: `cbq-${id}`,
      from: { id: chatId, is_bot: false, first_name: "Ada" },
      chat_instance: "1",
      data,
      message: { message_id: messageId, date: 1, chat: { id: chatId, type: "private" }, text: "..." },
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
