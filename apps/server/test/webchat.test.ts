import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createLiveHub, type LiveHub } from "@cb/admin-api";
import { userHash, VISITOR_LIMITS, driver as webchatDriver } from "@cb/channel-webchat";
import { createAccountDirectory, createIngestor, sendReplies, type Ingestor } from "@cb/conversation";
import type { Reply } from "@cb/core";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";
import { OPERATOR, rowCounts } from "./support.ts";
import { openStream, type SseEvent, type SseReader } from "./sse.ts";

// The web chat end to end over real HTTP, with two web processes on one database: what a visitor
// posts to one reaches their stream held by the other, and so do the bot's replies, through the
// database's NOTIFY; history and reconnection from the stored messages; identities and input checked.
const sealer = createSealer(parseKeyRing(generateKey("test")));
const SECRET = "identity-secret-0123456789";
let t: TestDatabase;
const servers: { app: FastifyInstance; url: string; live: LiveHub; ingestor: Ingestor }[] = [];
let accountId: string;
let tenantId: string;
const readers: SseReader[] = [];

async function serve() {
  const live = createLiveHub({ connectionString: t.url, pingMs: 200, minRetryMs: 20, maxRetryMs: 200 });
  await live.ready;
  const ingestor = createIngestor({ connectionString: t.url });
  const app = await buildServer({
    db: t.db,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [webchatDriver], env: {} }),
    ingestor,
    drivers: [webchatDriver],
    pool: t.pool,
    live,
    admin: { db: t.db, sealer, channelEnv: {}, operatorToken: OPERATOR, publicBaseUrl: "https://bot.example" },
  });
  const server = { app, url: await app.listen({ host: "127.0.0.1", port: 0 }), live, ingestor };
  servers.push(server);
  return server;
}

before(async () => {
  t = await createTestDatabase();
  const [a] = [await serve(), await serve()];
  const tenant = (
    await a!.app.inject({
      method: "POST",
      url: "/v1/tenants",
      headers: { authorization: `Bearer ${OPERATOR}` },
      payload: { name: "Shop" },
    })
  ).json();
  tenantId = tenant.tenant.id;
  const created = await a!.app.inject({
    method: "POST",
    url: "/v1/channel-accounts",
    headers: { authorization: `Bearer ${tenant.apiKey.key}` },
    payload: { channel: "webchat", name: "Website", credentials: { identitySecret: SECRET } },
  });
  assert.equal(created.statusCode, 201, created.body);
  accountId = created.json().account.id;
  assert.equal(
    created.json().setup.snippet,
    `<script src="https://bot.example/webhooks/webchat/widget.js" data-account="${accountId}" async></script>`,
  );
});
after(async () => {
  for (const reader of readers) reader.close();
  for (const s of servers) {
    await s.app.close();
    await s.live.close();
    await s.ingestor.close();
  }
  await t.drop();
});

const visitorToken = () => randomBytes(18).toString("base64url");
const anonymous = (token: string) => `Bearer v.${token}`;
const identified = (userId: string, hash = userHash(SECRET, userId)) =>
  `Bearer u.${Buffer.from(userId).toString("base64url")}.${hash}`;
const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error;
const clientId = () => randomBytes(9).toString("base64url");

function post(base: string, authorization: string, body: Record<string, unknown>, account = accountId) {
  return fetch(`${base}/webhooks/webchat/${account}/messages`, {
    method: "POST",
    headers: { authorization, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function stream(base: string, authorization: string, lastEventId?: string) {
  const reader = await openStream(`${base}/webhooks/webchat/${accountId}/stream`, {
    authorization,
    ...(lastEventId ? { "last-event-id": lastEventId } : {}),
  });
  readers.push(reader);
  return reader;
}

const isMessage =
  (match: (data: { from: string; content: { text?: string; type: string }[] }) => boolean) => (e: SseEvent) =>
    e.event === "message" && match(JSON.parse(e.data!));
const textOf = (e: SseEvent) => JSON.parse(e.data!).content[0].text as string;

/** What the worker does for a turn's replies: store them and send them (recorded sent) with the web chat's sender. */
async function reply(externalId: string, replies: Reply[], key: string) {
  const conversation = await t.db.conversation.findFirstOrThrow({ where: { channelAccountId: accountId, externalId } });
  const sender = webchatDriver.createSender(
    { id: accountId, tenantId, channel: "webchat", config: {}, secrets: { identitySecret: SECRET } },
    {},
    { reserve: async () => {}, block: async () => {} },
  );
  return sendReplies(
    t.pool,
    sender,
    { tenantId, channelAccountId: accountId, conversationId: conversation.id, to: { externalId, type: "private" } },
    replies,
    { key },
  );
}

test("a visitor's message posted to one web process reaches their stream on another, and so do the replies", async () => {
  const [a, b] = servers;
  const token = visitorToken();
  const onB = await stream(b!.url, anonymous(token));
  assert.equal(onB.response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const id = clientId();
  const posted = await post(a!.url, anonymous(token), { clientId: id, text: "hello there" });
  assert.equal(posted.status, 202, await posted.text());

  const echo = JSON.parse((await onB.next(isMessage((m) => m.from === "visitor"))).data!);
  assert.equal(echo.clientId, id);
  assert.deepEqual(echo.content, [{ type: "text", text: "hello there" }]);
  assert.deepEqual(JSON.parse((await onB.next((e) => e.event === "typing")).data!), { on: true });

  const conversation = await t.db.conversation.findFirstOrThrow({ where: { channelAccountId: accountId } });
  assert.match(conversation.externalId, /^visitor:[A-Za-z0-9_-]{32}$/);
  assert.ok(!conversation.externalId.includes(token), "the token itself is never stored");

  const results = await reply(
    conversation.externalId,
    [
      { type: "buttons", text: "Pick one", buttons: [{ type: "postback", title: "Track", payload: "TRACK" }] },
      { type: "cards", cards: [{ title: "Shoe", imageUrl: "https://img.example/shoe.png" }] },
    ],
    "turn-1",
  );
  assert.deepEqual(
    results.map((r) => r.status),
    ["sent", "sent"],
  );
  const first = JSON.parse((await onB.next(isMessage((m) => m.from === "bot"))).data!);
  assert.deepEqual(first.content, [
    { type: "buttons", text: "Pick one", buttons: [{ type: "postback", title: "Track", payload: "TRACK" }] },
  ]);
  const second = JSON.parse((await onB.next(isMessage((m) => m.from === "bot"))).data!);
  assert.deepEqual(second.content, [
    { type: "cards", cards: [{ title: "Shoe", imageUrl: "https://img.example/shoe.png" }] },
  ]);

  // The turn is done: the bot stops typing.
  await t.pool.query(`UPDATE "Message" SET status = 'processed' WHERE direction = 'in' AND "conversationId" = $1`, [
    conversation.id,
  ]);
  assert.deepEqual(JSON.parse((await onB.next((e) => e.event === "typing")).data!), { on: false });
});

test("a reply that failed or is still pending never reaches the visitor", async () => {
  const [a] = servers;
  const token = visitorToken();
  const onA = await stream(a!.url, anonymous(token));
  await post(a!.url, anonymous(token), { clientId: clientId(), text: "hi" });
  await onA.next(isMessage((m) => m.from === "visitor"));
  const conversation = await t.db.conversation.findFirstOrThrow({ orderBy: { createdAt: "desc" } });
  const [bad, good] = await reply(
    conversation.externalId,
    [
      { type: "image", url: "javascript:alert(1)" },
      { type: "text", text: "after the bad one" },
    ],
    "turn-bad",
  );
  assert.equal(bad!.status, "failed");
  assert.equal(good!.status, "sent");
  const shown = await onA.next(isMessage((m) => m.from === "bot"));
  assert.equal(textOf(shown), "after the bad one");

  // Nor in the history: a pending reply (stored, not yet sent) and the failed one stay out of it.
  await t.pool.query(
    `INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", content, status, "updatedAt")
     VALUES (gen_random_uuid(), $1, $2, $3, 'out', 'pending-one:0', '{"type":"text","text":"not sent yet"}', 'pending', now())`,
    [tenantId, accountId, conversation.id],
  );
  const fresh = await stream(a!.url, anonymous(token));
  await fresh.next(isMessage((m) => m.from === "bot"));
  await fresh.next((e) => e.comment === "ping");
  await fresh.next((e) => e.comment === "ping");
  assert.deepEqual(fresh.seen.filter((e) => e.event === "message").map(textOf), ["hi", "after the bad one"]);
});

test("when a process's listener loses its database connection, its streams catch up, telling nothing twice", async () => {
  const [a, b] = servers;
  const token = visitorToken();
  const onB = await stream(b!.url, anonymous(token));
  await post(a!.url, anonymous(token), { clientId: clientId(), text: "before" });
  await onB.next(isMessage((m) => m.from === "visitor"));
  const conversation = await t.db.conversation.findFirstOrThrow({ orderBy: { createdAt: "desc" } });
  const killed = await t.pool.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN cb_live'`,
  );
  assert.equal(killed.rowCount, 2, "one listening connection a process");
  await reply(conversation.externalId, [{ type: "text", text: "while the listener was away" }], "turn-away");
  assert.equal(textOf(await onB.next(isMessage((m) => m.from === "bot"))), "while the listener was away");
  const told = onB.seen.filter((e) => e.event === "message").map((e) => JSON.parse(e.data!).id as string);
  assert.deepEqual(told, [...new Set(told)]);
  assert.equal(told.length, 2);
});

test("identified visitors: the business's HMAC of the user id is required, and a wrong one refused", async () => {
  const [a, b] = servers;
  const wrong = identified("user-42", userHash("another secret", "user-42"));
  const refused = await post(a!.url, wrong, { clientId: clientId(), text: "I am 42" });
  assert.equal(refused.status, 401);
  assert.equal((await errorOf(refused)).code, "invalid_user_hash");
  const refusedStream = await fetch(`${b!.url}/webhooks/webchat/${accountId}/stream`, {
    headers: { authorization: wrong },
  });
  assert.equal(refusedStream.status, 401);
  assert.equal(await t.db.conversation.count({ where: { externalId: "user:user-42" } }), 0, "nothing stored");

  const onB = await stream(b!.url, identified("user-42"));
  const accepted = await post(a!.url, identified("user-42"), { clientId: clientId(), text: "I am 42" });
  assert.equal(accepted.status, 202);
  assert.equal(textOf(await onB.next(isMessage((m) => m.from === "visitor"))), "I am 42");
  assert.equal(await t.db.conversation.count({ where: { externalId: "user:user-42" } }), 1);
});

test("a visitor's stream hears nothing of another visitor's conversation", async () => {
  const [a, b] = servers;
  const mine = visitorToken();
  const onB = await stream(b!.url, anonymous(mine));
  await post(a!.url, anonymous(visitorToken()), { clientId: clientId(), text: "someone else" });
  await post(a!.url, anonymous(mine), { clientId: clientId(), text: "mine" });
  const first = await onB.next(isMessage(() => true));
  assert.equal(textOf(first), "mine");
});

test("history: a new stream starts with the stored conversation; a reconnection gets only what it missed", async () => {
  const [a, b] = servers;
  const token = visitorToken();
  const first = await stream(a!.url, anonymous(token));
  await post(b!.url, anonymous(token), { clientId: clientId(), text: "one" });
  const seen = await first.next(isMessage((m) => m.from === "visitor"));
  first.close();
  const conversation = await t.db.conversation.findFirstOrThrow({ orderBy: { createdAt: "desc" } });
  await t.pool.query(`UPDATE "Message" SET "updatedAt" = now() - interval '1 minute' WHERE "conversationId" = $1`, [
    conversation.id,
  ]);
  const cursor = String(Date.now() - 30_000);

  // While the visitor is away (the page reloading, the server restarting): another message and a reply.
  await post(b!.url, anonymous(token), { clientId: clientId(), text: "two" });
  await reply(conversation.externalId, [{ type: "text", text: "answer to two" }], "turn-two");

  const resumed = await stream(b!.url, anonymous(token), cursor);
  assert.equal(textOf(await resumed.next(isMessage(() => true))), "two");
  assert.equal(textOf(await resumed.next(isMessage(() => true))), "answer to two");
  assert.ok(!resumed.seen.some((e) => e.event === "message" && textOf(e) === "one"), "nothing it had already");
  assert.ok(seen.id, "message events carry the cursor as their id");

  const fresh = await stream(a!.url, anonymous(token));
  const history = [];
  for (let i = 0; i < 3; i++) history.push(textOf(await fresh.next(isMessage(() => true))));
  assert.deepEqual(history, ["one", "two", "answer to two"]);
});

test("visitors' input is checked before anything is stored: 4xx saying what is wrong", async () => {
  const [a] = servers;
  const before = await t.db.message.count();
  const token = anonymous(visitorToken());
  const cases: [string, Record<string, string>, unknown, number, string][] = [
    ["no credential", {}, { clientId: clientId(), text: "x" }, 400, "validation_failed"],
    [
      "a malformed credential",
      { authorization: "Bearer v.short" },
      { clientId: clientId(), text: "x" },
      400,
      "validation_failed",
    ],
    [
      "text too long",
      { authorization: token },
      { clientId: clientId(), text: "x".repeat(2001) },
      400,
      "validation_failed",
    ],
    ["blank text", { authorization: token }, { clientId: clientId(), text: "   " }, 400, "validation_failed"],
    ["no client id", { authorization: token }, { text: "x" }, 400, "validation_failed"],
    [
      "an unknown field",
      { authorization: token },
      { clientId: clientId(), text: "x", html: "<b>" },
      400,
      "validation_failed",
    ],
    [
      "text and postback",
      { authorization: token },
      { clientId: clientId(), text: "x", postback: { payload: "P" } },
      400,
      "validation_failed",
    ],
    ["neither", { authorization: token }, { clientId: clientId() }, 400, "validation_failed"],
  ];
  for (const [what, headers, body, status, code] of cases) {
    const response = await fetch(`${a!.url}/webhooks/webchat/${accountId}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, status, what);
    const error = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(error.error.code, code, what);
    if (what === "an unknown field")
      assert.match(error.error.message, /^body must not have additional properties: "html"$/);
  }
  const unknown = await post(
    a!.url,
    token,
    { clientId: clientId(), text: "x" },
    "00000000-0000-4000-8000-000000000000",
  );
  assert.equal(unknown.status, 404);
  const badCursor = await fetch(`${a!.url}/webhooks/webchat/${accountId}/stream`, {
    headers: { authorization: token, "last-event-id": "yesterday" },
  });
  assert.equal(badCursor.status, 400);
  assert.equal(await t.db.message.count(), before, "nothing stored");
});

const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

/** A response's status and its body as JSON; a stream that opened is closed unread. */
async function outcome(response: Response): Promise<{ status: number; body: any }> {
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
    await response.body?.cancel();
    return { status: response.status, body: undefined };
  }
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

/** A 4xx whose JSON body says what is wrong (`{error: {code, message}}`), as every refusal is. */
function assertRefused({ status, body }: { status: number; body: any }, what: string) {
  assert.ok(status >= 400 && status < 500, `${what}: ${status} ${JSON.stringify(body)?.slice(0, 300)}`);
  assert.equal(typeof body?.error?.code, "string", `${what}: a JSON error with a code (${JSON.stringify(body)})`);
  assert.equal(typeof body?.error?.message, "string", `${what}: a JSON error with a message`);
}

test("a visitor's post: NUL, lone surrogates, deep or huge bodies, wrong types and media types get a 4xx JSON error; nothing stored", async () => {
  const [a] = servers;
  const authorization = anonymous(visitorToken());
  const url = `${a!.url}/webhooks/webchat/${accountId}/messages`;
  const id = clientId();
  const json = "application/json";
  const cases: [what: string, contentType: string | undefined, body: string, status?: number, code?: string][] = [
    ["NUL in the text", json, `{"clientId":"${id}","text":"a\\u0000b"}`, 400, "invalid_text"],
    ["NUL in the client id", json, `{"clientId":"abcdefgh\\u0000","text":"x"}`, 400, "invalid_text"],
    ["NUL in a postback payload", json, `{"clientId":"${id}","postback":{"payload":"P\\u0000"}}`, 400, "invalid_text"],
    ["NUL in a key", json, `{"clientId":"${id}","text":"x","\\u0000":1}`, 400, "invalid_text"],
    ["a lone surrogate in the text", json, `{"clientId":"${id}","text":"a\\ud800b"}`, 400, "invalid_text"],
    [
      "a lone low surrogate in a postback title",
      json,
      `{"clientId":"${id}","postback":{"payload":"P","title":"\\udfff"}}`,
      400,
      "invalid_text",
    ],
    ["2,000 levels deep", json, `{"clientId":"${id}","text":${deep(2000)}}`, 400, "invalid_text"],
    ["3,000 nested arrays", json, `${"[".repeat(3000)}${"]".repeat(3000)}`, 400, "invalid_text"],
    ["10,000 levels deep (over the body limit)", json, `{"clientId":"${id}","text":${deep(10_000)}}`, 413],
    ["over the route's body limit", json, `{"clientId":"${id}","text":"${"x".repeat(20_000)}"}`, 413, "body_too_large"],
    [
      "over the server's body limit",
      json,
      `{"clientId":"${id}","text":"${"x".repeat(2 << 20)}"}`,
      413,
      "body_too_large",
    ],
    ["not JSON", json, `{"clientId":"${id}","text":`, 400, "invalid_json"],
    ["an empty body", json, "", 400, "invalid_json"],
    ["a prototype key", json, `{"clientId":"${id}","text":"x","__proto__":{"admin":true}}`, 400],
    ["null", json, "null", 400, "validation_failed"],
    ["an array", json, `[{"clientId":"${id}","text":"x"}]`, 400, "validation_failed"],
    ["a string", json, '"hello"', 400, "validation_failed"],
    ["a number past double range", json, "1e309", 400, "validation_failed"],
    ["text a number", json, `{"clientId":"${id}","text":123}`, 400, "validation_failed"],
    ["text a boolean", json, `{"clientId":"${id}","text":true}`, 400, "validation_failed"],
    ["text null", json, `{"clientId":"${id}","text":null}`, 400, "validation_failed"],
    ["text an array", json, `{"clientId":"${id}","text":["x"]}`, 400, "validation_failed"],
    ["text an object", json, `{"clientId":"${id}","text":{"x":1}}`, 400, "validation_failed"],
    ["the client id a number", json, `{"clientId":12345678,"text":"x"}`, 400, "validation_failed"],
    ["a postback a string", json, `{"clientId":"${id}","postback":"P"}`, 400, "validation_failed"],
    ["a postback payload a number", json, `{"clientId":"${id}","postback":{"payload":1}}`, 400, "validation_failed"],
    ["text/plain", "text/plain", `{"clientId":"${id}","text":"x"}`, 415, "unsupported_media_type"],
    ["a form", "application/x-www-form-urlencoded", `clientId=${id}&text=x`, 415, "unsupported_media_type"],
    [
      "multipart",
      "multipart/form-data; boundary=b",
      `--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nx\r\n--b--`,
      415,
      "unsupported_media_type",
    ],
    ["no content type", undefined, `{"clientId":"${id}","text":"x"}`, 415, "unsupported_media_type"],
  ];
  const before = await rowCounts(t.pool);
  for (const [what, contentType, body, status, code] of cases) {
    const result = await outcome(
      await fetch(url, {
        method: "POST",
        headers: { authorization, ...(contentType ? { "content-type": contentType } : {}) },
        // Bytes, so that fetch adds no content type of its own.
        body: Buffer.from(body),
      }),
    );
    assertRefused(result, what);
    if (status) assert.equal(result.status, status, what);
    if (code) assert.equal(result.body.error.code, code, what);
  }
  const named = await outcome(
    await fetch(url, {
      method: "POST",
      headers: { authorization, "content-type": json },
      body: `{"clientId":"${id}","postback":{"payload":"P","title":"a\\ud800"}}`,
    }),
  );
  assert.deepEqual(named.body.error.details, { location: "body", path: "/postback/title", problem: "lone_surrogate" });
  const typed = await outcome(
    await fetch(url, {
      method: "POST",
      headers: { authorization, "content-type": json },
      body: `{"clientId":"${id}","text":123}`,
    }),
  );
  assert.equal(typed.body.error.message, "body/text must be string");
  assert.deepEqual(await rowCounts(t.pool), before, "nothing stored");
  // The same places, clean: taken, so each refusal above was its input's doing.
  for (const body of [
    { clientId: clientId(), text: "ab" },
    { clientId: clientId(), postback: { payload: "P", title: "t" } },
  ]) {
    const taken = await fetch(url, {
      method: "POST",
      headers: { authorization, "content-type": json },
      body: JSON.stringify(body),
    });
    assert.equal(taken.status, 202, await taken.text());
  }
});

test("a visitor's credential: forged, unsigned or unstorable user ids and malformed tokens get a 4xx JSON error on both routes", async () => {
  const [a] = servers;
  const base = `${a!.url}/webhooks/webchat/${accountId}`;
  const encode = (userId: string) => Buffer.from(userId).toString("base64url");
  const credentials: [what: string, authorization: string | undefined, status: number, code: string][] = [
    ["none", undefined, 400, "validation_failed"],
    ["another scheme", `Basic ${Buffer.from("a:b").toString("base64")}`, 400, "validation_failed"],
    ["a token too short", "Bearer v.short", 400, "validation_failed"],
    ["a token too long", `Bearer v.${"a".repeat(65)}`, 400, "validation_failed"],
    ["a token with a NUL", `Bearer v.${"a".repeat(22)}%00`, 400, "validation_failed"],
    [
      "a hash made with another secret",
      identified("user-7", userHash("another secret", "user-7")),
      401,
      "invalid_user_hash",
    ],
    ["another user's hash", `Bearer u.${encode("user-7")}.${userHash(SECRET, "user-8")}`, 401, "invalid_user_hash"],
    [
      "a hash of the id with a byte more",
      `Bearer u.${encode("user-7")}.${userHash(SECRET, "user-7 ")}`,
      401,
      "invalid_user_hash",
    ],
    ["a hash in capitals", identified("user-7", userHash(SECRET, "user-7").toUpperCase()), 400, "validation_failed"],
    ["a hash cut short", identified("user-7", userHash(SECRET, "user-7").slice(0, 63)), 400, "validation_failed"],
    ["a user id with a NUL, signed", identified("user\u00007"), 400, "invalid_text"],
    ["a user id that is one NUL, signed", identified("\u0000"), 400, "invalid_text"],
    ["a user id of 257 characters, signed", identified("x".repeat(257)), 400, "invalid_user_id"],
  ];
  const before = await rowCounts(t.pool);
  for (const [what, authorization, status, code] of credentials) {
    const headers = authorization ? { authorization } : {};
    const posted = await outcome(
      await fetch(`${base}/messages`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ clientId: clientId(), text: "claiming" }),
      }),
    );
    const streamed = await outcome(await fetch(`${base}/stream`, { headers }));
    for (const [route, result] of [
      ["messages", posted],
      ["stream", streamed],
    ] as const) {
      assertRefused(result, `${route}: ${what}`);
      assert.equal(result.status, status, `${route}: ${what}`);
      assert.equal(result.body.error.code, code, `${route}: ${what}`);
    }
  }
  assert.deepEqual(await rowCounts(t.pool), before, "nothing stored");
  const signed = await fetch(`${base}/messages`, {
    method: "POST",
    headers: { authorization: identified("user-7"), "content-type": "application/json" },
    body: JSON.stringify({ clientId: clientId(), text: "I am 7" }),
  });
  assert.equal(signed.status, 202, "the real user's hash is taken");
});

test("a visitor's stream: odd Last-Event-IDs, query strings and account ids get a 4xx JSON error; a valid cursor streams", async () => {
  const [a] = servers;
  const authorization = anonymous(visitorToken());
  const streamUrl = `${a!.url}/webhooks/webchat/${accountId}/stream`;
  const before = await rowCounts(t.pool);
  for (const cursor of ["yesterday", "-1", "1e3", "1.5", "0x10", "9".repeat(16), "9".repeat(4000), "1½"]) {
    const result = await outcome(await fetch(streamUrl, { headers: { authorization, "last-event-id": cursor } }));
    assertRefused(result, `last-event-id ${cursor.slice(0, 20)}`);
    assert.equal(result.body.error.code, "validation_failed", cursor.slice(0, 20));
  }
  for (const query of [
    "x=1",
    "text=a%00b",
    "a=%ED%A0%80",
    "__proto__[admin]=1",
    `q=${"x".repeat(8000)}`,
    `q=${"x".repeat(100_000)}`,
  ]) {
    for (const [method, url] of [
      ["GET", streamUrl],
      ["POST", `${a!.url}/webhooks/webchat/${accountId}/messages`],
    ] as const) {
      const result = await outcome(
        await fetch(`${url}?${query}`, {
          method,
          headers: { authorization, "content-type": "application/json" },
          ...(method === "POST" ? { body: JSON.stringify({ clientId: clientId(), text: "x" }) } : {}),
        }),
      );
      assertRefused(result, `${method} ?${query.slice(0, 30)}`);
    }
  }
  for (const account of [
    "not-an-account",
    "%00",
    "%ED%A0%80",
    "00000000-0000-4000-8000-000000000000",
    "a".repeat(65),
    "a".repeat(5000),
  ]) {
    for (const [method, route] of [
      ["GET", "stream"],
      ["POST", "messages"],
    ] as const) {
      const result = await outcome(
        await fetch(`${a!.url}/webhooks/webchat/${account}/${route}`, {
          method,
          headers: { authorization, "content-type": "application/json" },
          ...(method === "POST" ? { body: JSON.stringify({ clientId: clientId(), text: "x" }) } : {}),
        }),
      );
      assertRefused(result, `${method} ${route} of account ${account.slice(0, 30)}`);
    }
  }
  assert.deepEqual(await rowCounts(t.pool), before, "nothing stored");
  // The largest cursor taken (15 digits) is a date PostgreSQL holds: the stream opens.
  const far = await fetch(streamUrl, { headers: { authorization, "last-event-id": "9".repeat(15) } });
  assert.equal(far.status, 200);
  await far.body?.cancel();
});

test("a visitor posting too fast is refused with 429, counted across web processes", async () => {
  const [a, b] = servers;
  const token = anonymous(visitorToken());
  for (let i = 0; i < VISITOR_LIMITS.perVisitor; i++) {
    const response = await post(i % 2 ? a!.url : b!.url, token, { clientId: clientId(), text: `n${i}` });
    assert.equal(response.status, 202);
  }
  const refused = await post(a!.url, token, { clientId: clientId(), text: "one too many" });
  assert.equal(refused.status, 429);
  assert.equal((await errorOf(refused)).code, "rate_limited");
  assert.equal(await t.db.message.count({ where: { content: { path: ["text"], equals: "one too many" } } }), 0);
});

test("a retried post (same client id) is stored once", async () => {
  const [a, b] = servers;
  const token = anonymous(visitorToken());
  const id = clientId();
  await post(a!.url, token, { clientId: id, text: "twice" });
  await post(b!.url, token, { clientId: id, text: "twice" });
  assert.equal(await t.db.message.count({ where: { platformMessageId: id } }), 1);
});

test("the widget's script: served gzipped with an etag, and any page may call the endpoints (CORS)", async () => {
  const [a] = servers;
  const script = await fetch(`${a!.url}/webhooks/webchat/widget.js`, { headers: { "accept-encoding": "gzip" } });
  assert.equal(script.status, 200);
  assert.match(script.headers.get("content-type")!, /^text\/javascript/);
  assert.equal(script.headers.get("content-encoding"), "gzip");
  assert.match(await script.text(), /webhooks\/webchat/, "the widget itself (fetch unzipped it)");
  const etag = script.headers.get("etag")!;
  assert.ok(etag);
  const again = await fetch(`${a!.url}/webhooks/webchat/widget.js`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  const preflight = await fetch(`${a!.url}/webhooks/webchat/${accountId}/messages`, {
    method: "OPTIONS",
    headers: {
      origin: "https://shop.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
  assert.match(preflight.headers.get("access-control-allow-headers")!, /authorization/);
  const streamed = await fetch(`${a!.url}/webhooks/webchat/${accountId}/stream`, {
    headers: { authorization: anonymous(visitorToken()), origin: "https://shop.example" },
  });
  assert.equal(streamed.headers.get("access-control-allow-origin"), "*");
  await streamed.body?.cancel();
});

// Last: it spends the address's budget, which every test's posts share (they all come from 127.0.0.1).
test("visitor tokens cost nothing to make, so one address is limited whatever the tokens", async () => {
  const [a] = servers;
  let accepted = 0;
  let status = 202;
  while (status === 202 && accepted <= 2 * VISITOR_LIMITS.perAddress) {
    status = (await post(a!.url, anonymous(visitorToken()), { clientId: clientId(), text: "fresh" })).status;
    if (status === 202) accepted++;
  }
  assert.equal(status, 429, "a fresh visitor from a spent address is refused");
  assert.ok(accepted <= VISITOR_LIMITS.perAddress, `${accepted} fresh visitors accepted`);
  const refused = await post(a!.url, anonymous(visitorToken()), { clientId: clientId(), text: "yet another" });
  assert.equal((await errorOf(refused)).code, "rate_limited");
});
