import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createLiveHub, type LiveHub } from "@cb/admin-api";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";
import { openStream, type SseEvent, type SseReader } from "./sse.ts";

// GET /v1/stream end to end over real HTTP: a webhook's message reaches an open stream through the
// database's NOTIFY, only its own tenant's; the listener survives its connection being killed.
const OPERATOR = "operator-token-0123456789";
const secretToken = "live-secret_token";
const sealer = createSealer(parseKeyRing(generateKey("test")));
let t: TestDatabase;
let ingestor: Ingestor;
let live: LiveHub;
let app: FastifyInstance;
let url: string;
let keyA: string;
let keyB: string;
let accountA: string;
let accountB: string;
const readers: SseReader[] = [];

async function serve(hub: LiveHub): Promise<{ app: FastifyInstance; url: string }> {
  const server = await buildServer({
    db: t.db,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} }),
    ingestor,
    drivers: [telegramDriver],
    admin: { db: t.db, sealer, channelEnv: {}, operatorToken: OPERATOR, live: hub },
  });
  return { app: server, url: await server.listen({ host: "127.0.0.1", port: 0 }) };
}

before(async () => {
  t = await createTestDatabase();
  ingestor = createIngestor({ connectionString: t.url });
  live = createLiveHub({ connectionString: t.url, pingMs: 200, minRetryMs: 20, maxRetryMs: 200 });
  await live.ready;
  ({ app, url } = await serve(live));
  const tenant = async (name: string) => {
    const created = (
      await app.inject({
        method: "POST",
        url: "/v1/tenants",
        headers: { authorization: `Bearer ${OPERATOR}` },
        payload: { name },
      })
    ).json();
    const account = await t.db.channelAccount.create({
      data: {
        tenantId: created.tenant.id,
        channel: "telegram",
        name: `${name} bot`,
        secrets: sealer.sealJson({ botToken: "1:x", secretToken }),
      },
    });
    return { key: created.apiKey.key as string, account: account.id };
  };
  ({ key: keyA, account: accountA } = await tenant("Acme"));
  ({ key: keyB, account: accountB } = await tenant("Other"));
});
after(async () => {
  for (const reader of readers) reader.close();
  await app.close();
  await live.close();
  await ingestor.close();
  await t.drop();
});

const stream = async (key: string, base = url) => {
  const reader = await openStream(`${base}/v1/stream`, { authorization: `Bearer ${key}` });
  readers.push(reader);
  return reader;
};

let updateId = 1000;
const postUpdate = (accountId: string, chat: number) => {
  const id = ++updateId;
  return fetch(`${url}/webhooks/telegram/${accountId}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secretToken },
    body: JSON.stringify({
      update_id: id,
      message: {
        message_id: id,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chat, type: "private", first_name: "Ada" },
        from: { id: chat, is_bot: false, first_name: "Ada", username: "ada" },
        text: "where is my order?",
      },
    }),
  });
};
const isEvent = (type: string) => (e: SseEvent) => e.event === type;

test("a customer's message posted to the webhook shows on the tenant's open stream within 1 s, and on no other tenant's", async () => {
  const a = await stream(keyA);
  const b = await stream(keyB);
  assert.equal(a.response.status, 200);
  assert.match(a.response.headers.get("content-type") ?? "", /^text\/event-stream/);

  const posted = performance.now();
  assert.equal((await postUpdate(accountA, 501)).status, 200);
  const event = await a.next(isEvent("message.created"), 1000);
  assert.ok(performance.now() - posted < 1000);

  const stored = await t.db.message.findFirstOrThrow({ where: { channelAccountId: accountA } });
  assert.ok(event.id, "each event has an id: line");
  assert.deepEqual(JSON.parse(event.data!), {
    conversationId: stored.conversationId,
    messageId: stored.id,
    direction: "in",
    status: "received",
  });
  assert.ok(!event.data!.includes("where is my order"), "ids, never text");

  // Tenant B's own message reaches B; A's never did.
  assert.equal((await postUpdate(accountB, 502)).status, 200);
  const forB = JSON.parse((await b.next(isEvent("message.created"), 1000)).data!);
  const storedB = await t.db.message.findFirstOrThrow({ where: { channelAccountId: accountB } });
  assert.equal(forB.messageId, storedB.id);
  assert.ok(!b.seen.some((e) => e.data?.includes(stored.id) || e.data?.includes(stored.conversationId)));
  assert.ok(!a.seen.some((e) => e.data?.includes(storedB.id)));
});

test("a status change is message.updated; a handoff is conversation.updated; ids increase", async () => {
  const a = await stream(keyA);
  assert.equal((await postUpdate(accountA, 503)).status, 200);
  const created = JSON.parse((await a.next(isEvent("message.created"), 1000)).data!);

  await t.db.message.update({ where: { id: created.messageId }, data: { status: "processed" } });
  const updated = await a.next(isEvent("message.updated"));
  assert.equal(JSON.parse(updated.data!).status, "processed");
  // A write that leaves the status alone is not news.
  await t.db.message.update({ where: { id: created.messageId }, data: { attempts: 1 } });

  const handoff = (body: object) =>
    fetch(`${url}/v1/conversations/${created.conversationId}/handoff`, {
      method: "POST",
      headers: { authorization: `Bearer ${keyA}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  assert.equal((await handoff({})).status, 200);
  const changed = await a.next(isEvent("conversation.updated"));
  assert.deepEqual(JSON.parse(changed.data!), { conversationId: created.conversationId, mode: "pending" });
  assert.equal((await handoff({ assignee: "ada@acme.example" })).status, 200);
  assert.equal(JSON.parse((await a.next(isEvent("conversation.updated"))).data!).mode, "human");
  // Another agent takes it: the mode stays, the assignee changes, and that is news too.
  assert.equal((await handoff({ assignee: "bob@acme.example" })).status, 200);
  const reassigned = await a.next(isEvent("conversation.updated"));
  assert.deepEqual(JSON.parse(reassigned.data!), { conversationId: created.conversationId, mode: "human" });
  assert.ok(!reassigned.data!.includes("bob"), "no operator's e-mail through NOTIFY");

  const events = a.seen.filter((e) => e.event);
  assert.deepEqual(
    events.map((e) => e.event),
    ["message.created", "message.updated", "conversation.updated", "conversation.updated", "conversation.updated"],
  );
  const ids = events.map((e) => Number(e.id));
  assert.deepEqual(
    ids,
    [...ids].sort((x, y) => x - y),
  );
  assert.equal(new Set(ids).size, ids.length);
});

test("an idle stream gets a ping comment at the hub's interval", async () => {
  const a = await stream(keyA);
  const ping = await a.next((e) => e.comment === "ping", 2000);
  assert.equal(ping.event, undefined);
});

test("the stream needs a key that may read", async () => {
  assert.equal((await fetch(`${url}/v1/stream`)).status, 401);
  const events = (
    await app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: { authorization: `Bearer ${keyA}` },
      payload: { name: "events only", scopes: ["events"] },
    })
  ).json();
  assert.equal((await fetch(`${url}/v1/stream`, { headers: { authorization: `Bearer ${events.key}` } })).status, 403);
});

test("the listener comes back after its database connection is killed, and tells streams to resync", async () => {
  const a = await stream(keyA);
  const killed = await t.pool.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN cb_live'`,
  );
  assert.equal(killed.rowCount, 1, "one listening connection for the process, whatever the streams");
  await a.next(isEvent("resync"), 3000);
  assert.equal((await postUpdate(accountA, 504)).status, 200);
  await a.next(isEvent("message.created"), 1000);
});

test("closing the server ends open streams cleanly and does not wait for them", async () => {
  const own = await serve(live);
  const a = await stream(keyA, own.url);
  await a.next((e) => e.comment === "connected");
  const waited = new Promise((_, reject) =>
    setTimeout(() => reject(new Error("the close waited for the open stream")), 2000).unref(),
  );
  await Promise.race([own.app.close(), waited]);
  await a.ended;
});
