import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

// The console's conversation list: what each item carries (kept by the Message trigger), its
// order, keyset pages, filters and search, each tenant's own.
const OPERATOR = "operator-token-0123456789";
const sealer = createSealer(parseKeyRing(generateKey("test")));
let t: TestDatabase;
let app: FastifyInstance;
let ingestor: Ingestor;
let keyA: string;
let keyB: string;
let tenantA: string;
let tenantB: string;
let telegram: string;
let whatsapp: string;
let otherTelegram: string;

before(async () => {
  t = await createTestDatabase();
  ingestor = createIngestor({ connectionString: t.url });
  app = await buildServer({
    db: t.db,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [], env: {} }),
    ingestor,
    drivers: [],
    admin: { db: t.db, sealer, channelEnv: {}, operatorToken: OPERATOR },
  });
  const tenant = async (name: string) =>
    (
      await app.inject({
        method: "POST",
        url: "/v1/tenants",
        headers: { authorization: `Bearer ${OPERATOR}` },
        payload: { name },
      })
    ).json();
  const a = await tenant("Acme");
  const b = await tenant("Other");
  keyA = a.apiKey.key;
  keyB = b.apiKey.key;
  tenantA = a.tenant.id;
  tenantB = b.tenant.id;
  const account = async (tenantId: string, channel: string) =>
    (await t.db.channelAccount.create({ data: { tenantId, channel, name: channel, secrets: sealer.sealJson({}) } })).id;
  telegram = await account(tenantA, "telegram");
  whatsapp = await account(tenantA, "whatsapp");
  otherTelegram = await account(tenantB, "telegram");
});
after(async () => {
  await app.close();
  await ingestor.close();
  await t.drop();
});

const T0 = Date.parse("2026-12-01T10:00:00.000Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
let n = 0;

async function conversation(options: {
  account?: string;
  tenantId?: string;
  externalId?: string;
  mode?: string;
  assignee?: string;
}) {
  return t.db.conversation.create({
    data: {
      tenantId: options.tenantId ?? tenantA,
      channelAccountId: options.account ?? telegram,
      externalId: options.externalId ?? `chat-${++n}`,
      mode: options.mode ?? "bot",
      assignee: options.assignee ?? null,
    },
  });
}

async function message(
  c: { id: string; tenantId: string; channelAccountId: string; externalId: string },
  options: { text: string; minute: number; direction?: "in" | "out"; sender?: Record<string, string> },
) {
  const direction = options.direction ?? "in";
  return t.db.message.create({
    data: {
      tenantId: c.tenantId,
      channelAccountId: c.channelAccountId,
      conversationId: c.id,
      direction,
      dedupeKey: `m-${++n}`,
      content:
        direction === "in"
          ? { text: options.text, sender: options.sender ?? { externalId: c.externalId } }
          : { type: "text", text: options.text },
      status: direction === "in" ? "received" : "sent",
      createdAt: at(options.minute),
    },
  });
}

const list = async (query = "", key = keyA) => {
  const response = await app.inject({ url: `/v1/conversations${query}`, headers: { authorization: `Bearer ${key}` } });
  assert.equal(response.statusCode, 200, response.body);
  return response.json() as { data: ({ id: string } & Record<string, any>)[]; nextCursor: string | null };
};
const ids = (page: { data: { id: string }[] }) => page.data.map((c) => c.id);

test("each item carries its channel, customer, last message, mode and assignee; newest activity first", async () => {
  const older = await conversation({ account: whatsapp, externalId: "4915100000001" });
  const newer = await conversation({ mode: "human", assignee: "ada@acme.example" });
  await message(older, {
    text: "hello",
    minute: 1,
    sender: { externalId: "4915100000001", name: "Grace Hopper", phone: "+4915100000001" },
  });
  await message(newer, { text: "first", minute: 2, sender: { externalId: "77", name: "Alan", username: "alan_t" } });
  // The older conversation's new message puts it first.
  await message(older, { text: "x".repeat(300), minute: 3, sender: { externalId: "4915100000001", name: "Grace H." } });
  const reply = await message(older, { text: "Your order ships today", minute: 4, direction: "out" });

  const page = await list(`?channelAccountId=${whatsapp}`);
  assert.deepEqual(ids(page), [older.id]);
  const [item] = page.data;
  assert.equal(item!.channel, "whatsapp");
  assert.deepEqual(item!.customer, { name: "Grace H.", username: null, externalId: "4915100000001" });
  assert.deepEqual(item!.lastMessage, {
    id: reply.id,
    direction: "out",
    text: "Your order ships today",
    at: at(4).toISOString(),
  });
  assert.equal(item!.lastMessageAt, at(4).toISOString());
  assert.equal(item!.lastActivityAt, at(4).toISOString());
  assert.equal(item!.mode, "bot");

  const both = await list();
  assert.deepEqual(ids(both).slice(0, 2), [older.id, newer.id]);
  const second = both.data[1]!;
  assert.equal(second.mode, "human");
  assert.equal(second.assignee, "ada@acme.example");
  assert.deepEqual(second.customer, { name: "Alan", username: "alan_t", externalId: "77" });
  assert.equal(second.lastMessage.text, "first");
  assert.equal(second.lastMessage.direction, "in");

  // A long text is previewed, not sent whole.
  await message(newer, { text: "y".repeat(300), minute: 5 });
  assert.equal((await list()).data[0]!.lastMessage.text, "y".repeat(200));

  // A message stored later but sent earlier (an inbox expanded late) does not become the last one.
  await message(newer, { text: "late arrival", minute: 0 });
  const one = await app.inject({ url: `/v1/conversations/${newer.id}`, headers: { authorization: `Bearer ${keyA}` } });
  assert.equal(one.statusCode, 200);
  assert.equal(one.json().lastMessage.text, "y".repeat(200));
  assert.equal(one.json().channel, "telegram");
});

test("a conversation without messages is listed by its creation, with no last message", async () => {
  const empty = await conversation({ externalId: "silent" });
  const [item] = (await list(`?q=silent`)).data;
  assert.equal(item!.id, empty.id);
  assert.equal(item!.lastMessage, null);
  assert.equal(item!.lastMessageAt, null);
  assert.equal(item!.lastActivityAt, empty.createdAt.toISOString());
});

test("keyset pages walk the whole list once, ties on the same time included", async () => {
  const account = await t.db.channelAccount.create({
    data: { tenantId: tenantA, channel: "messenger", name: "pages", secrets: sealer.sealJson({}) },
  });
  const made = [];
  for (let i = 0; i < 7; i++) {
    const c = await conversation({ account: account.id });
    // Five share one minute, across a page boundary: only the id orders them.
    await message(c, { text: `page ${i}`, minute: 100 + Math.min(i, 2) });
    made.push(c.id);
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await list(`?channel=messenger&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    seen.push(...ids(page));
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.equal(seen.length, 7);
  assert.deepEqual(new Set(seen), new Set(made));
  const full = await list("?channel=messenger&limit=50");
  assert.deepEqual(seen, ids(full));

  const forged = await app.inject({
    url: "/v1/conversations?cursor=bm90LWEtY3Vyc29y",
    headers: { authorization: `Bearer ${keyA}` },
  });
  assert.equal(forged.statusCode, 400);
  assert.equal(forged.json().error.code, "invalid_cursor");
});

test("filters: mode, channel, channel account and assignee", async () => {
  const pending = await conversation({ account: whatsapp, mode: "pending" });
  const withAda = await conversation({ mode: "human", assignee: "ada-filter@acme.example" });
  const withBob = await conversation({ mode: "human", assignee: "bob-filter@acme.example" });
  const all = ids(await list("?limit=200"));
  for (const id of [pending.id, withAda.id, withBob.id]) assert.ok(all.includes(id));

  const modes = await list("?mode=pending&limit=200");
  assert.ok(ids(modes).includes(pending.id));
  assert.ok(modes.data.every((c) => c.mode === "pending"));
  assert.ok(!ids(modes).includes(withAda.id));

  const channels = await list("?channel=whatsapp&limit=200");
  assert.ok(ids(channels).includes(pending.id));
  assert.ok(channels.data.every((c) => c.channel === "whatsapp"));

  assert.deepEqual(ids(await list("?assignee=ada-filter%40acme.example")), [withAda.id]);
  const bad = await app.inject({ url: "/v1/conversations?channel=fax", headers: { authorization: `Bearer ${keyA}` } });
  assert.equal(bad.statusCode, 400);
});

test("search finds the customer's name, username or id, or any message's text; case ignored; wildcards literal", async () => {
  const byName = await conversation({ externalId: "search-1" });
  await message(byName, { text: "hi", minute: 200, sender: { externalId: "901", name: "Margaret Hamilton" } });
  const byText = await conversation({ externalId: "search-2" });
  await message(byText, { text: "my parcel #A-5521 never arrived", minute: 201 });
  await message(byText, { text: "hello?", minute: 202 });
  const byUsername = await conversation({ externalId: "search-3" });
  await message(byUsername, { text: "yo", minute: 203, sender: { externalId: "903", username: "kay_jay" } });
  const percent = await conversation({ externalId: "search-4" });
  await message(percent, { text: "50% off?", minute: 204 });

  assert.deepEqual(ids(await list("?q=hamilton")), [byName.id]);
  assert.deepEqual(ids(await list("?q=A-5521")), [byText.id], "an earlier message's text, not only the last");
  assert.deepEqual(ids(await list("?q=KAY_J")), [byUsername.id]);
  assert.deepEqual(ids(await list("?q=search-2")), [byText.id], "the chat's id");
  assert.deepEqual(ids(await list("?q=901")), [byName.id], "the customer's id");
  assert.deepEqual(ids(await list("?q=0%25%20")), [percent.id], "% is a character, not a wildcard");
  assert.deepEqual(ids(await list("?q=s_a")), [], "_ is a character, not a wildcard");
  assert.deepEqual(ids(await list("?q=nothing-like-this")), []);
  // Filters and search together.
  assert.deepEqual(ids(await list("?q=hamilton&mode=human")), []);

  const short = await app.inject({ url: "/v1/conversations?q=ab", headers: { authorization: `Bearer ${keyA}` } });
  assert.equal(short.statusCode, 400);
});

test("a tenant lists and searches only its own conversations", async () => {
  const mine = await conversation({ externalId: "shared-chat-id" });
  await message(mine, { text: "tracking number ZX-777", minute: 300 });
  const theirs = await conversation({ tenantId: tenantB, account: otherTelegram, externalId: "shared-chat-id" });
  await message(theirs, { text: "tracking number ZX-777", minute: 301 });

  assert.deepEqual(ids(await list("?q=ZX-777")), [mine.id]);
  assert.deepEqual(ids(await list("?q=ZX-777", keyB)), [theirs.id]);
  assert.ok(!ids(await list("?limit=200")).includes(theirs.id));
  const foreign = await app.inject({
    url: `/v1/conversations/${theirs.id}`,
    headers: { authorization: `Bearer ${keyA}` },
  });
  assert.equal(foreign.statusCode, 404);
});

test("a search reaches past the newest 1,000 conversations, and pages through many matches", async () => {
  const old = await conversation({ externalId: "old-one" });
  await message(old, { text: "my needle-4711 is lost", minute: 400 });
  const account = await t.db.channelAccount.create({
    data: { tenantId: tenantA, channel: "slack", name: "busy", secrets: sealer.sealJson({}) },
  });
  // Newer than anything above, and each says "common ground" once.
  await t.pool.query(
    `WITH c AS (
       INSERT INTO "Conversation" (id, "tenantId", "channelAccountId", "externalId")
       SELECT gen_random_uuid(), $1, $2, 'busy-' || g FROM generate_series(1, 1100) g RETURNING id, "tenantId", "channelAccountId", "externalId"
     )
     INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", content, status, "updatedAt")
     SELECT gen_random_uuid(), "tenantId", "channelAccountId", id, 'in', "externalId", '{"text": "common ground"}', 'received', now() FROM c`,
    [tenantA, account.id],
  );
  assert.deepEqual(ids(await list("?q=needle-4711")), [old.id]);
  const first = await list("?q=common%20ground&limit=100");
  assert.equal(first.data.length, 100);
  assert.ok(first.data.every((c) => c.lastMessage.text === "common ground"));
  const second = await list(`?q=common%20ground&limit=100&cursor=${encodeURIComponent(first.nextCursor!)}`);
  assert.equal(second.data.length, 100);
  assert.equal(new Set([...ids(first), ...ids(second)]).size, 200);
});
