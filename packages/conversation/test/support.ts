import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { driver as messengerDriver } from "@cb/channel-messenger";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { postgresSendLimits, type ChannelAccount, type InboundMessage } from "@cb/core";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createEgress, parsePolicy } from "@cb/egress";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { startFakeTelegram, type FakeTelegram } from "@cb/fake-telegram";
import { createFulfillmentClient } from "@cb/fulfillment";
import { createSealer, generateKey, parseKeyRing, type Sealer } from "@cb/secrets";
import {
  applyContexts,
  askForMissing,
  createAccountDirectory,
  createFulfill,
  createIngestor,
  type AccountDirectory,
  type Ingestor,
  type TurnDeps,
  type Understand,
} from "../src/index.ts";

export const BOT_TOKEN = "424242:conversation-test-token";
export const PAGE_TOKEN = "EAA-conversation-test-page";

/**
 * A fresh database with a tenant, a Telegram bot and a Messenger page, their platform APIs strict
 * local fakes. (Telegram allows a bot one message a second per chat; Messenger has no such limit,
 * so tests that send several replies to one chat go through Messenger to stay quick.)
 */
export interface Setup {
  t: TestDatabase;
  sealer: Sealer;
  telegram: FakeTelegram;
  graph: FakeGraph;
  accounts: AccountDirectory;
  ingestor: Ingestor;
  tenantId: string;
  account: ChannelAccount;
  messenger: ChannelAccount;
  /** Stores an inbound message (Telegram unless said) as the web role does and returns its row id. */
  receive(message: Partial<InboundMessage> & { chat: string }): Promise<string>;
  close(): Promise<void>;
}

let nextEvent = 1;

export async function setUp(): Promise<Setup> {
  const t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  const telegram = await startFakeTelegram();
  telegram.addBot(BOT_TOKEN, { username: "ShopBot" });
  const tenant = await t.db.tenant.create({ data: { name: "Acme", timezone: "Europe/Berlin" } });
  const row = await t.db.channelAccount.create({
    data: {
      tenantId: tenant.id,
      channel: "telegram",
      name: "Shop bot",
      config: { username: "ShopBot" },
      secrets: sealer.sealJson({ botToken: BOT_TOKEN, secretToken: "s" }),
    },
  });
  const graph = await startFakeGraph();
  graph.addPageToken(PAGE_TOKEN);
  const page = await t.db.channelAccount.create({
    data: {
      tenantId: tenant.id,
      channel: "messenger",
      name: "Shop page",
      config: { pageId: "1895382890692545" },
      secrets: sealer.sealJson({ pageAccessToken: PAGE_TOKEN, appSecret: "a", verifyToken: "v" }),
    },
  });
  const accounts = createAccountDirectory({
    db: t.db,
    sealer,
    drivers: [telegramDriver, messengerDriver],
    env: { TELEGRAM_API_ROOT: telegram.url, GRAPH_API_BASE_URL: graph.url },
    limits: postgresSendLimits(t.pool),
  });
  const ingestor = createIngestor({ connectionString: t.url, inboxAbove: Infinity });
  const account: ChannelAccount = {
    id: row.id,
    tenantId: tenant.id,
    channel: "telegram",
    config: {},
    secrets: {},
  };
  const messenger: ChannelAccount = { ...account, id: page.id, channel: "messenger" };
  return {
    t,
    sealer,
    telegram,
    graph,
    accounts,
    ingestor,
    tenantId: tenant.id,
    account,
    messenger,
    async receive({ chat, ...fields }) {
      const n = nextEvent++;
      const to = fields.channel === "messenger" ? messenger : account;
      const message: InboundMessage = {
        channel: to.channel,
        platformEventId: `u${n}`,
        platformMessageId: String(n),
        conversation: { externalId: chat, type: "private" },
        sender: { externalId: chat },
        sentAt: new Date(Date.now() + n).toISOString(),
        addressedToBot: true,
        ...fields,
      };
      await ingestor.ingest(to, [{ type: "message", message, raw: { update_id: n } }]);
      const stored = await t.db.message.findFirstOrThrow({
        where: { channelAccountId: to.id, direction: "in", dedupeKey: `u${n}` },
      });
      return stored.id;
    },
    async close() {
      await ingestor.close();
      await telegram.close();
      await graph.close();
      await t.drop();
    },
  };
}

/** A stand-in backend's answer to one request (the parsed WebhookRequest). */
export type Answer = (request: any) => { status?: number; body: unknown };

/** A stand-in business backend: `answer` decides each response; `received` keeps the parsed requests. */
export async function startBackend(answer: Answer) {
  const received: any[] = [];
  const headers: Record<string, string | string[] | undefined>[] = [];
  const server = await startLocalServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const request = JSON.parse(body);
      received.push(request);
      headers.push(req.headers);
      const { status = 200, body: out } = answer(request);
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(out));
    });
  });
  return { url: `${server.origin}/fulfillment`, received, headers, close: server.close };
}

/** A server on a free loopback port answering with `handle`; `close` drops its open connections too. */
export async function startLocalServer(handle: RequestListener) {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A customer's Telegram message in a private chat, as understanding sees it. */
export const inbound = (fields: Partial<InboundMessage>): InboundMessage => ({
  channel: "telegram",
  platformEventId: "1",
  conversation: { externalId: "7", type: "private" },
  sender: { externalId: "7" },
  sentAt: "2026-11-30T12:00:00.000Z",
  ...fields,
});

/** A setup whose turns run as the worker runs them, fulfilled by a stand-in backend. */
export interface TurnSetup {
  s: Setup;
  /** The turn's dependencies: `understand` as given, fulfillment through the real client to the backend. */
  deps: TurnDeps;
  backend: Awaited<ReturnType<typeof startBackend>>;
  /** What the backend answers, by the intent's name; 404 for an intent not in it. */
  answers: Map<string, Answer>;
  /** The tenant's fulfillment endpoint "shop", the backend's URL. */
  endpointId: string;
  close(): Promise<void>;
}

export async function setUpTurns(understand: Understand): Promise<TurnSetup> {
  const s = await setUp();
  const answers = new Map<string, Answer>();
  const backend = await startBackend((request) => {
    const answer = answers.get(request.queryResult.intent.displayName);
    return answer ? answer(request) : { status: 404, body: {} };
  });
  const endpoint = await s.t.db.fulfillmentEndpoint.create({
    data: { tenantId: s.tenantId, name: "shop", url: backend.url, timeoutMs: 2000 },
  });
  const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
  // Tests make the backend fail on purpose: the circuit breaker must not open on them.
  const client = createFulfillmentClient(egress, { breaker: { volumeThreshold: 1000 } });
  const deps: TurnDeps = {
    db: s.t.db,
    pool: s.t.pool,
    accounts: s.accounts,
    understand,
    fulfill: createFulfill({ sealer: s.sealer, client }),
    applyContexts,
    askForMissing,
  };
  return {
    s,
    deps,
    backend,
    answers,
    endpointId: endpoint.id,
    async close() {
      client.shutdown();
      await egress.close();
      await backend.close();
      await s.close();
    },
  };
}
