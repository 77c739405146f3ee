import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { createLogger } from "@cb/logging";
import { strToU8, zipSync } from "fflate";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { startFakeTelegram, type FakeTelegram } from "@cb/fake-telegram";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

const OPERATOR = "operator-token-0123456789";
const BOT_TOKEN = "777000:AAH-very-secret-bot-token";
let t: TestDatabase;
let app: FastifyInstance;
let ingestor: Ingestor;
let telegram: FakeTelegram;
const logs: string[] = [];
const bodies: string[] = [];
const keys: { a: string; b: string } = { a: "", b: "" };

before(async () => {
  t = await createTestDatabase();
  telegram = await startFakeTelegram();
  telegram.addBot(BOT_TOKEN, { username: "AcmeBot" });
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  const accounts = createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} });
  ingestor = createIngestor({ connectionString: t.url });
  app = await buildServer({
    db: t.db,
    accounts,
    ingestor,
    drivers: [telegramDriver],
    admin: {
      db: t.db,
      sealer,
      publicBaseUrl: "https://bot.example.com",
      channelEnv: { TELEGRAM_API_ROOT: telegram.url },
      operatorToken: OPERATOR,
      onAccountChanged: (id) => accounts.invalidate(id),
    },
    // Every log line is kept, to prove no secret reaches the logs.
    logger: createLogger({
      level: "trace",
      destination: new Writable({
        write: (chunk, _enc, done) => {
          logs.push(String(chunk));
          done();
        },
      }),
    }),
  });
  app.addHook("onSend", async (_request, _reply, payload) => {
    if (typeof payload === "string") bodies.push(payload);
    return payload;
  });
});
after(async () => {
  await app.close();
  await ingestor.close();
  await telegram.close();
  await t.drop();
});

const call = (method: string, url: string, key: string, payload?: unknown) =>
  app.inject({
    method: method as "GET",
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });

test("tenants are created with the operator token only, each with an admin key shown once", async () => {
  assert.equal((await app.inject({ method: "POST", url: "/v1/tenants", payload: { name: "X" } })).statusCode, 401);
  assert.equal((await call("POST", "/v1/tenants", "wrong-operator-token-xx", { name: "X" })).statusCode, 401);
  const invalid = await call("POST", "/v1/tenants", OPERATOR, { name: "", colour: "red" });
  assert.equal(invalid.statusCode, 400);
  assert.equal(invalid.json().error.code, "validation_failed");
  assert.ok(invalid.json().error.details);

  const a = await call("POST", "/v1/tenants", OPERATOR, { name: "Acme", timezone: "Europe/Berlin" });
  assert.equal(a.statusCode, 201);
  keys.a = a.json().apiKey.key;
  assert.match(keys.a, /^cbk_/);
  keys.b = (await call("POST", "/v1/tenants", OPERATOR, { name: "Globex" })).json().apiKey.key;
  assert.equal((await call("GET", "/v1/tenant", keys.a)).json().name, "Acme");
  assert.equal((await call("GET", "/v1/tenant", keys.b)).json().name, "Globex");
  const hybrid = await call("PATCH", "/v1/tenant", keys.a, { nluSettings: { mode: "hybrid", model: "gpt-4o-mini" } });
  assert.deepEqual(hybrid.json().nluSettings, { mode: "hybrid", model: "gpt-4o-mini" });
  assert.equal((await call("PATCH", "/v1/tenant", keys.a, { nluSettings: { mode: "psychic" } })).statusCode, 400);
  const quiet = await call("PATCH", "/v1/tenant", keys.a, {
    notificationSettings: { quietHours: { start: "22:00", end: "08:00" }, optOutWords: ["halt"] },
  });
  assert.deepEqual(quiet.json().notificationSettings, {
    quietHours: { start: "22:00", end: "08:00" },
    optOutWords: ["halt"],
  });
  assert.equal(
    (
      await call("PATCH", "/v1/tenant", keys.a, {
        notificationSettings: { quietHours: { start: "25:00", end: "08:00" } },
      })
    ).statusCode,
    400,
  );
});

test("keys: unknown and revoked keys are refused, read-only keys cannot write, rotation replaces a key", async () => {
  assert.equal((await app.inject({ method: "GET", url: "/v1/tenant" })).json().error.code, "unauthenticated");
  assert.equal((await call("GET", "/v1/tenant", `cbk_AAAAAAAAAAAA_${"A".repeat(43)}`)).statusCode, 401);
  const readOnly = (await call("POST", "/v1/api-keys", keys.a, { name: "dashboards", scopes: ["read-only"] })).json();
  assert.equal((await call("GET", "/v1/intents", readOnly.key)).statusCode, 200);
  const denied = await call("POST", "/v1/intents", readOnly.key, { name: "x", examples: [] });
  assert.equal(denied.statusCode, 403);
  assert.equal(denied.json().error.code, "forbidden");
  const rotated = await call("POST", `/v1/api-keys/${readOnly.id}/rotate`, keys.a);
  assert.equal(rotated.statusCode, 201);
  assert.equal((await call("GET", "/v1/intents", readOnly.key)).statusCode, 401, "the old key stops working");
  assert.equal((await call("GET", "/v1/intents", rotated.json().key)).statusCode, 200);
  const listed = (await call("GET", "/v1/api-keys", keys.a)).json().data;
  assert.ok(listed.every((k: { hint: string }) => k.hint.startsWith("…") && k.hint.length === 5));
  assert.equal((await call("DELETE", `/v1/api-keys/${rotated.json().id}`, keys.a)).statusCode, 204);
  assert.equal((await call("GET", "/v1/intents", rotated.json().key)).statusCode, 401);
});

test("connecting a Telegram bot checks the token, registers the webhook with a secret token, and reports it", async () => {
  const bad = await call("POST", "/v1/channel-accounts", keys.a, {
    channel: "telegram",
    name: "Bot",
    credentials: { botToken: "1:nope" },
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.code, "invalid_bot_token");
  assert.equal(await t.db.channelAccount.count(), 0, "nothing stored for a refused token");

  const created = await call("POST", "/v1/channel-accounts", keys.a, {
    channel: "telegram",
    name: "Acme bot",
    credentials: { botToken: BOT_TOKEN },
  });
  assert.equal(created.statusCode, 201);
  const { account, setup } = created.json();
  assert.equal(account.webhookUrl, `https://bot.example.com/webhooks/telegram/${account.id}`);
  assert.deepEqual(account.config, { botId: 777000, username: "AcmeBot" });
  assert.deepEqual(Object.keys(account.secretHints).sort(), ["botToken", "secretToken"]);
  const webhook = telegram.webhookOf(BOT_TOKEN)!;
  assert.equal(webhook.url, account.webhookUrl);
  assert.match(webhook.secretToken!, /^[A-Za-z0-9_-]{20,}$/);
  assert.equal(setup.webhook.url, account.webhookUrl);

  // The registered secret token is the one the webhook route accepts.
  const update = {
    update_id: 1,
    message: {
      message_id: 1,
      date: 1,
      chat: { id: 5, type: "private" },
      from: { id: 5, is_bot: false, first_name: "A" },
      text: "hi",
    },
  };
  const accepted = await app.inject({
    method: "POST",
    url: `/webhooks/telegram/${account.id}`,
    headers: { "x-telegram-bot-api-secret-token": webhook.secretToken! },
    payload: update,
  });
  assert.equal(accepted.statusCode, 200);

  assert.equal(
    (await call("GET", `/v1/channel-accounts/${account.id}/webhook`, keys.a)).json().url,
    account.webhookUrl,
  );
  assert.equal((await call("DELETE", `/v1/channel-accounts/${account.id}`, keys.a)).statusCode, 204);
  assert.equal(telegram.webhookOf(BOT_TOKEN), undefined, "disconnecting removes the webhook");
  const after = await app.inject({
    method: "POST",
    url: `/webhooks/telegram/${account.id}`,
    headers: { "x-telegram-bot-api-secret-token": webhook.secretToken! },
    payload: update,
  });
  assert.equal(after.statusCode, 404);
});

test("WhatsApp and Messenger accounts get a generated verify token and the callback URL, shown once", async () => {
  const missing = await call("POST", "/v1/channel-accounts", keys.a, {
    channel: "whatsapp",
    name: "WA",
    credentials: { accessToken: "EAAG-token" },
  });
  assert.equal(missing.statusCode, 400);
  assert.deepEqual(missing.json().error.details.missing, ["credentials.appSecret", "config.phoneNumberId"]);
  const created = (
    await call("POST", "/v1/channel-accounts", keys.a, {
      channel: "whatsapp",
      name: "WA",
      config: { phoneNumberId: "106540352242922" },
      credentials: { accessToken: "EAAG-token-secret", appSecret: "app-secret-value" },
    })
  ).json();
  assert.equal(created.setup.callbackUrl, `https://bot.example.com/webhooks/whatsapp/${created.account.id}`);
  assert.match(created.setup.verifyToken, /^[A-Za-z0-9_-]{20,}$/);
  const fetched = (await call("GET", `/v1/channel-accounts/${created.account.id}`, keys.a)).body;
  assert.ok(
    !fetched.includes(created.setup.verifyToken) &&
      !fetched.includes("EAAG-token-secret") &&
      !fetched.includes("app-secret-value"),
  );
});

test("the channels that can be connected, each with its driver's credentials, config and messaging policy", async () => {
  const listed = await call("GET", "/v1/channels", keys.a);
  assert.equal(listed.statusCode, 200);
  const items = listed.json().items as {
    name: string;
    displayName: string;
    credentials: { required?: string[]; properties: Record<string, unknown> };
    config: { required?: string[] };
    policy: Record<string, unknown>;
  }[];
  const byName = Object.fromEntries(items.map((c) => [c.name, c]));
  assert.deepEqual(Object.keys(byName), ["whatsapp", "messenger", "instagram", "telegram", "slack", "webchat"]);
  assert.deepEqual(byName.webchat!.credentials.required, ["identitySecret"]);
  assert.deepEqual(byName.whatsapp!.credentials.required, ["accessToken", "appSecret"]);
  assert.deepEqual(byName.whatsapp!.config.required, ["phoneNumberId"]);
  assert.equal(byName.telegram!.displayName, "Telegram");
  assert.deepEqual(byName.instagram!.policy, {
    replyWindowHours: 24,
    outsideWindow: "tag",
    tags: ["HUMAN_AGENT"],
    humanAgentHours: 168,
    templates: false,
  });
  assert.deepEqual(byName.slack!.policy, {
    replyWindowHours: null,
    outsideWindow: null,
    tags: [],
    humanAgentHours: null,
    templates: false,
  });
  assert.equal((await app.inject({ method: "GET", url: "/v1/channels" })).statusCode, 401);
});

test("intents carry Dialogflow's events, action, priority and flags; defaults when not given", async () => {
  const fields = {
    events: ["WELCOME", "TELEGRAM_WELCOME"],
    action: "input.welcome",
    priority: 750000,
    resetContexts: true,
    webhookForSlotFilling: true,
    endInteraction: true,
  };
  const created = await call("POST", "/v1/intents", keys.a, { name: "welcome", examples: ["hi"], ...fields });
  assert.equal(created.statusCode, 201, created.body);
  const read = (await call("GET", `/v1/intents/${created.json().id}`, keys.a)).json();
  assert.deepEqual(Object.fromEntries(Object.keys(fields).map((k) => [k, read[k]])), fields);
  const plain = (await call("POST", "/v1/intents", keys.a, { name: "plain", examples: ["x"] })).json();
  assert.deepEqual(Object.fromEntries(Object.keys(fields).map((k) => [k, plain[k]])), {
    events: [],
    action: "",
    priority: 500000,
    resetContexts: false,
    webhookForSlotFilling: false,
    endInteraction: false,
  });
  assert.equal((await call("POST", "/v1/intents", keys.a, { name: "e", examples: [], events: [""] })).statusCode, 400);
  assert.equal(
    (await call("POST", "/v1/intents", keys.a, { name: "p", examples: [], priority: 1e10 })).statusCode,
    400,
  );
  for (const id of [created.json().id, plain.id]) await call("DELETE", `/v1/intents/${id}`, keys.a);
});

test("intents: validation, conflicts, a tenant's own endpoints only, and cursor pagination", async () => {
  const bad = await call("POST", "/v1/intents", keys.a, { name: "x", examples: "not a list" });
  assert.equal(bad.statusCode, 400);
  const endpointB = (
    await call("POST", "/v1/fulfillment-endpoints", keys.b, { name: "orders", url: "https://b.example/hook" })
  ).json().endpoint.id;
  const foreign = await call("POST", "/v1/intents", keys.a, {
    name: "x",
    examples: ["a"],
    fulfillmentEndpointId: endpointB,
  });
  assert.equal(foreign.statusCode, 400, "another tenant's endpoint cannot be used");
  for (let i = 0; i < 5; i++)
    assert.equal(
      (await call("POST", "/v1/intents", keys.a, { name: `intent-${i}`, examples: [`example ${i}`] })).statusCode,
      201,
    );
  const dup = await call("POST", "/v1/intents", keys.a, { name: "intent-0", examples: [] });
  assert.equal(dup.statusCode, 409);
  const names: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { data: { name: string }[]; nextCursor: string | null } = (
      await call("GET", `/v1/intents?limit=2${cursor ? `&cursor=${cursor}` : ""}`, keys.a)
    ).json();
    names.push(...page.data.map((i) => i.name));
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.deepEqual([...names].sort(), ["intent-0", "intent-1", "intent-2", "intent-3", "intent-4"]);
  assert.equal((await call("GET", "/v1/intents?cursor=garbage", keys.a)).json().error.code, "invalid_cursor");
  // Well-formed but forged: a 400 too, not the database's error as a 500.
  for (const forged of [
    ["yesterday", "00000000-0000-4000-8000-000000000000"],
    ["2026-01-01T00:00:00.000Z", "x"],
  ]) {
    const cursor = Buffer.from(JSON.stringify(forged)).toString("base64url");
    const response = await call("GET", `/v1/intents?cursor=${cursor}`, keys.a);
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, "invalid_cursor");
  }
});

test("intents keep Dialogflow's action, events and webhookForSlotFilling; defaults when not given", async () => {
  const created = await call("POST", "/v1/intents", keys.a, {
    name: "order.cancelled",
    examples: [],
    action: "order.cancel",
    events: ["ORDER_CANCELLED", "cancel-done"],
    webhookForSlotFilling: true,
  });
  assert.equal(created.statusCode, 201, created.body);
  const { id } = created.json();
  const fetched = (await call("GET", `/v1/intents/${id}`, keys.a)).json();
  assert.deepEqual(
    [fetched.action, fetched.events, fetched.webhookForSlotFilling],
    ["order.cancel", ["ORDER_CANCELLED", "cancel-done"], true],
  );
  const replaced = (await call("PUT", `/v1/intents/${id}`, keys.a, { name: "order.cancelled", examples: [] })).json();
  assert.deepEqual([replaced.action, replaced.events, replaced.webhookForSlotFilling], ["", [], false]);
  for (const bad of [{ events: ["has space"] }, { events: "ORDER" }, { webhookForSlotFilling: "yes" }]) {
    const refused = await call("POST", "/v1/intents", keys.a, { name: "bad", examples: [], ...bad });
    assert.equal(refused.statusCode, 400, JSON.stringify(bad));
  }
});

test("isolation: tenant A's key against every route for tenant B's resources is 404, never data", async () => {
  const b = {
    intent: (await call("POST", "/v1/intents", keys.b, { name: "secret-intent", examples: ["b only"] })).json().id,
    entityType: (
      await call("POST", "/v1/entity-types", keys.b, { name: "sku", kind: "pattern", pattern: "SKU-\\d+" })
    ).json().id,
    endpoint: (
      await call("POST", "/v1/fulfillment-endpoints", keys.b, { name: "crm", url: "https://b.example/crm" })
    ).json().endpoint.id,
    account: (
      await call("POST", "/v1/channel-accounts", keys.b, {
        channel: "slack",
        name: "B slack",
        credentials: { botToken: "xoxb-b", signingSecret: "b-signing" },
      })
    ).json().account.id,
    apiKey: (await call("POST", "/v1/api-keys", keys.b, { name: "b", scopes: ["admin"] })).json().id,
    subscription: (
      await call("POST", "/v1/event-subscriptions", keys.b, {
        url: "https://b.example/events",
        eventTypes: ["message.received"],
      })
    ).json().subscription.id,
    contact: (await call("POST", "/v1/contacts", keys.b, { customerId: "b-1", phone: "+4915199999999" })).json().id,
    rule: (
      await call("POST", "/v1/notification-rules", keys.b, {
        name: "b-rule",
        eventType: "order.shipped",
        template: { text: "x" },
        contactMatch: { by: "customerId", path: "$.data.customerId" },
        channelOrder: ["telegram"],
      })
    ).json().id,
  };
  const tenantB = (await t.db.tenant.findFirstOrThrow({ where: { name: "Globex" } })).id;
  const conversation = (
    await t.db.conversation.create({ data: { tenantId: tenantB, channelAccountId: b.account, externalId: "C1" } })
  ).id;
  await t.db.event.create({ data: { id: "evt_b", tenantId: tenantB, type: "message.received", data: {} } });
  const delivery = (
    await t.db.eventDelivery.create({
      data: { tenantId: tenantB, eventId: "evt_b", subscriptionId: b.subscription, status: "dead" },
    })
  ).id;
  const routes: [string, string, unknown?][] = [
    ["GET", `/v1/intents/${b.intent}`],
    ["PUT", `/v1/intents/${b.intent}`, { name: "stolen", examples: [] }],
    ["DELETE", `/v1/intents/${b.intent}`],
    ["GET", `/v1/entity-types/${b.entityType}`],
    ["PUT", `/v1/entity-types/${b.entityType}`, { name: "x", kind: "pattern", pattern: "x" }],
    ["DELETE", `/v1/entity-types/${b.entityType}`],
    ["GET", `/v1/fulfillment-endpoints/${b.endpoint}`],
    ["PATCH", `/v1/fulfillment-endpoints/${b.endpoint}`, { url: "https://evil.example" }],
    ["POST", `/v1/fulfillment-endpoints/${b.endpoint}/rotate-secret`, {}],
    ["POST", `/v1/fulfillment-endpoints/${b.endpoint}/rotate-secret/finish`],
    ["DELETE", `/v1/fulfillment-endpoints/${b.endpoint}`],
    ["GET", `/v1/channel-accounts/${b.account}`],
    ["GET", `/v1/channel-accounts/${b.account}/webhook`],
    ["PATCH", `/v1/channel-accounts/${b.account}`, { enabled: false }],
    ["DELETE", `/v1/channel-accounts/${b.account}`],
    ["POST", `/v1/api-keys/${b.apiKey}/rotate`],
    ["DELETE", `/v1/api-keys/${b.apiKey}`],
    ["GET", `/v1/conversations/${conversation}`],
    ["GET", `/v1/conversations/${conversation}/messages`],
    ["GET", `/v1/event-subscriptions/${b.subscription}`],
    ["PATCH", `/v1/event-subscriptions/${b.subscription}`, { enabled: false }],
    ["POST", `/v1/event-subscriptions/${b.subscription}/rotate-secret`, {}],
    ["POST", `/v1/event-subscriptions/${b.subscription}/rotate-secret/finish`],
    ["GET", `/v1/event-subscriptions/${b.subscription}/deliveries`],
    ["POST", `/v1/event-subscriptions/${b.subscription}/replay`, { since: "2020-01-01T00:00:00Z" }],
    ["DELETE", `/v1/event-subscriptions/${b.subscription}`],
    ["GET", `/v1/deliveries/${delivery}`],
    ["POST", `/v1/deliveries/${delivery}/replay`],
    ["GET", `/v1/contacts/${b.contact}`],
    ["PATCH", `/v1/contacts/${b.contact}`, { phone: "+4915100000000" }],
    ["DELETE", `/v1/contacts/${b.contact}`],
    ["DELETE", `/v1/notification-rules/${b.rule}`],
  ];
  for (const [method, url, payload] of routes) {
    const response = await call(method, url, keys.a, payload);
    assert.equal(response.statusCode, 404, `${method} ${url}`);
    assert.equal(response.json().error.code, "not_found");
  }
  for (const list of [
    "/v1/intents",
    "/v1/entity-types",
    "/v1/fulfillment-endpoints",
    "/v1/channel-accounts",
    "/v1/conversations",
    "/v1/api-keys",
    "/v1/event-subscriptions",
    "/v1/contacts",
    "/v1/notification-rules",
    "/v1/notifications",
  ]) {
    const body = (await call("GET", list, keys.a)).body;
    for (const id of [...Object.values(b), conversation, delivery])
      assert.ok(!body.includes(id), `${list} leaks ${id}`);
  }
  // B's resources are untouched.
  assert.equal((await call("GET", `/v1/intents/${b.intent}`, keys.b)).json().name, "secret-intent");
  assert.equal((await call("GET", `/v1/channel-accounts/${b.account}`, keys.b)).json().enabled, true);
  assert.equal((await call("GET", `/v1/deliveries/${delivery}`, keys.b)).json().delivery.status, "dead");
  assert.equal((await call("GET", `/v1/contacts/${b.contact}`, keys.b)).json().phone, "+4915199999999");
  const foreignIdentity = await call("POST", "/v1/contacts", keys.a, {
    customerId: "a-1",
    identities: [{ channelAccountId: b.account, externalId: "U1" }],
  });
  assert.equal(foreignIdentity.statusCode, 404, "a contact cannot be tied to another tenant's channel account");
  const invalid = await call("POST", "/v1/event-subscriptions", keys.b, {
    url: "https://b.example/x",
    eventTypes: ["not.a.type"],
  });
  assert.equal(invalid.statusCode, 400);
});

test("fulfillment endpoint secrets: shown once, hinted after, rotated with the old one kept", async () => {
  const created = (
    await call("POST", "/v1/fulfillment-endpoints", keys.a, {
      name: "tickets",
      url: "https://a.example/tickets",
      basicAuth: { username: "u", password: "p4ssword-secret" },
      headers: { "x-api-key": "header-secret" },
    })
  ).json();
  assert.match(created.signingSecret, /^whsec_/);
  const rotated = (
    await call("POST", `/v1/fulfillment-endpoints/${created.endpoint.id}/rotate-secret`, keys.a, {})
  ).json();
  assert.equal(rotated.endpoint.auth.signingSecretHints.length, 2, "old and new sign side by side");
  const shown = (await call("GET", `/v1/fulfillment-endpoints/${created.endpoint.id}`, keys.a)).json();
  assert.deepEqual(shown.auth, {
    basicAuth: true,
    headers: ["x-api-key"],
    signingSecretHints: rotated.endpoint.auth.signingSecretHints,
  });
  const finished = (
    await call("POST", `/v1/fulfillment-endpoints/${created.endpoint.id}/rotate-secret`, keys.a, {
      keepPrevious: false,
    })
  ).json();
  assert.equal(finished.endpoint.auth.signingSecretHints.length, 1);
});

test("a Dialogflow ES agent export imports intents, phrases, parameters, responses, contexts and entities", async () => {
  const zip = zipSync({
    "agent.json": strToU8(JSON.stringify({ language: "en", displayName: "Shop" })),
    "intents/order.status.json": strToU8(
      JSON.stringify({
        name: "order.status",
        webhookUsed: true,
        contexts: [],
        responses: [
          {
            affectedContexts: [{ name: "order", lifespan: 3 }],
            parameters: [
              {
                name: "order_id",
                dataType: "@order_id",
                required: true,
                isList: false,
                prompts: [{ lang: "en", value: "What is your order number?" }],
              },
            ],
            messages: [
              { type: "0", lang: "en", speech: ["Let me check that."] },
              { type: 2, lang: "en", title: "More?", replies: ["Return it"] },
            ],
          },
        ],
      }),
    ),
    "intents/order.status_usersays_en.json": strToU8(
      JSON.stringify([
        {
          data: [
            { text: "where is order " },
            { text: "12345", alias: "order_id", meta: "@order_id", userDefined: true },
          ],
        },
        { data: [{ text: "track my parcel" }] },
      ]),
    ),
    "intents/Default Fallback Intent.json": strToU8(
      JSON.stringify({
        name: "Default Fallback Intent",
        fallbackIntent: true,
        responses: [{ messages: [{ type: 0, lang: "en", speech: "Sorry?" }] }],
      }),
    ),
    "entities/order_id.json": strToU8(JSON.stringify({ name: "order_id", isRegexp: true })),
    "entities/order_id_entries_en.json": strToU8(JSON.stringify([{ value: "\\d{5}", synonyms: ["\\d{5}"] }])),
    "entities/size.json": strToU8(JSON.stringify({ name: "size", isRegexp: false })),
    "entities/size_entries_en.json": strToU8(JSON.stringify([{ value: "large", synonyms: ["large", "big", "XL"] }])),
  });
  const response = await app.inject({
    method: "POST",
    url: "/v1/agent-import",
    headers: { authorization: `Bearer ${keys.a}`, "content-type": "application/zip" },
    payload: Buffer.from(zip),
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.deepEqual(response.json(), {
    language: "en",
    intents: 2,
    entityTypes: 2,
    webhookIntentsWithoutEndpoint: ["order.status"],
    unmapped: [],
  });
  const intents = (await call("GET", "/v1/intents?limit=200", keys.a)).json().data as { name: string }[];
  const status = intents.find((i) => i.name === "order.status") as unknown as Record<string, unknown>;
  assert.deepEqual(status.examples, ["where is order 12345", "track my parcel"]);
  assert.deepEqual(status.parameters, [
    { name: "order_id", entity: "@order_id", required: true, prompts: ["What is your order number?"], isList: false },
  ]);
  assert.deepEqual(status.responses, [
    { type: "text", text: "Let me check that." },
    { type: "text", text: "More?", quickReplies: [{ title: "Return it", payload: "Return it" }] },
  ]);
  assert.deepEqual(status.outputContexts, [{ name: "order", lifespan: 3 }]);
  const fallback = intents.find((i) => i.name === "Default Fallback Intent") as unknown as Record<string, unknown>;
  assert.equal(fallback.isFallback, true);
  const types = (await call("GET", "/v1/entity-types", keys.a)).json().data as Record<string, unknown>[];
  assert.deepEqual(types.find((e) => e.name === "size")?.entries, [{ value: "large", synonyms: ["big", "XL"] }]);
  assert.equal(types.find((e) => e.name === "order_id")?.pattern, "(?:\\d{5})");
  const notZip = await app.inject({
    method: "POST",
    url: "/v1/agent-import",
    headers: { authorization: `Bearer ${keys.a}`, "content-type": "application/zip" },
    payload: Buffer.from("nope"),
  });
  assert.equal(notZip.json().error.code, "invalid_zip");
});

test("a contact is changed in place: given fields replace, null clears, identities are replaced whole", async () => {
  const c = (await call("POST", "/v1/tenants", OPERATOR, { name: "Initech" })).json();
  const key = c.apiKey.key;
  const [slack, telegram] = await Promise.all(
    ["slack", "telegram"].map((channel) =>
      t.db.channelAccount.create({ data: { tenantId: c.tenant.id, channel, name: channel, config: {}, secrets: "x" } }),
    ),
  );
  const created = await call("POST", "/v1/contacts", key, {
    customerId: "c-1",
    email: "Ada@Example.com",
    identities: [{ channelAccountId: slack!.id, externalId: "U1" }],
  });
  assert.equal(created.statusCode, 201);
  const id = created.json().id;

  const named = await call("PATCH", `/v1/contacts/${id}`, key, { name: "Ada", phone: "+49 151 1234 5678" });
  assert.equal(named.statusCode, 200, named.body);
  assert.equal(named.json().id, id, "the same contact, not a new one");
  assert.equal(named.json().name, "Ada");
  assert.equal(named.json().phone, "+4915112345678", "normalized to E.164");
  assert.equal(named.json().email, "ada@example.com", "what was not given stays");
  assert.deepEqual(named.json().identities, [{ channelAccountId: slack!.id, externalId: "U1" }]);

  const moved = await call("PATCH", `/v1/contacts/${id}`, key, {
    email: null,
    name: null,
    identities: [{ channelAccountId: telegram!.id, externalId: "42" }],
  });
  assert.equal(moved.json().email, null, "null clears");
  assert.equal(moved.json().name, null);
  assert.deepEqual(moved.json().identities, [{ channelAccountId: telegram!.id, externalId: "42" }]);
  assert.deepEqual(await call("GET", `/v1/contacts/${id}`, key).then((r) => r.json()), moved.json());
  assert.equal(await t.db.contactIdentity.count({ where: { contactId: id } }), 1, "the old identity is gone");

  for (const body of [{}, { colour: "red" }, { email: "not-an-email" }, { identities: "U1" }]) {
    const refused = await call("PATCH", `/v1/contacts/${id}`, key, body);
    assert.equal(refused.statusCode, 400, JSON.stringify(body));
    assert.equal(refused.json().error.code, "validation_failed");
  }
  await call("POST", "/v1/contacts", key, { customerId: "c-2" });
  const taken = await call("PATCH", `/v1/contacts/${id}`, key, { customerId: "c-2" });
  assert.equal(taken.statusCode, 409);
  const b = (await t.db.channelAccount.findFirstOrThrow({ where: { tenant: { name: "Globex" } } })).id;
  const foreign = await call("PATCH", `/v1/contacts/${id}`, key, {
    identities: [{ channelAccountId: b, externalId: "U9" }],
  });
  assert.equal(foreign.statusCode, 404, "another tenant's channel account");
  assert.equal((await call("PATCH", `/v1/contacts/${crypto.randomUUID()}`, key, { name: "x" })).statusCode, 404);
  const reader = (await call("POST", "/v1/api-keys", key, { name: "r", scopes: ["read-only"] })).json().key;
  assert.equal((await call("PATCH", `/v1/contacts/${id}`, reader, { name: "Eve" })).statusCode, 403);
  assert.equal((await call("GET", `/v1/contacts/${id}`, key)).json().name, null, "nothing refused was written");
});

test("a phrase is tested against the tenant's own intents, and nothing is sent or stored", async () => {
  const d = (await call("POST", "/v1/tenants", OPERATOR, { name: "Hooli" })).json();
  const key = d.apiKey.key;
  for (const intent of [
    { name: "greeting", examples: ["hi", "hello", "good morning", "hey there"] },
    {
      name: "order.status",
      examples: ["where is my order", "track my package", "has my order shipped", "status of order 12345"],
      parameters: [{ name: "order_id", entity: "@sys.number", required: true, prompts: ["Your order number?"] }],
    },
    { name: "opening.hours", examples: ["when are you open", "opening hours", "are you open on sunday"] },
    { name: "fallback", examples: [], isFallback: true },
  ])
    assert.equal((await call("POST", "/v1/intents", key, intent)).statusCode, 201);
  const before = { messages: await t.db.message.count(), conversations: await t.db.conversation.count() };
  const test = async (text: string, as = key) => {
    const response = await call("POST", "/v1/intents/test", as, { text });
    assert.equal(response.statusCode, 200, response.body);
    return response.json();
  };

  const full = await test("where is my order 12345");
  assert.equal(full.intent, "order.status");
  assert.ok(full.confidence > 0.25 && full.confidence <= 1);
  assert.deepEqual(full.parameters, { order_id: 12345 });
  assert.equal(full.allRequiredParamsPresent, true);
  assert.equal(full.prompt, null);
  assert.equal(full.fallback, false);

  const missing = await test("track my package");
  assert.equal(missing.intent, "order.status");
  assert.equal(missing.allRequiredParamsPresent, false);
  assert.equal(missing.prompt, "Your order number?");

  const unmatched = await test("zebra quantum marmalade");
  assert.equal(unmatched.intent, "fallback");
  assert.equal(unmatched.fallback, true);

  // Another tenant's intents are not its own: B's phrase finds nothing in D.
  assert.notEqual((await test("b only")).intent, "secret-intent");
  const reader = (await call("POST", "/v1/api-keys", key, { name: "r", scopes: ["read-only"] })).json().key;
  assert.equal((await test("hello", reader)).intent, "greeting", "testing changes nothing: a read-only key may");
  for (const body of [{}, { text: "" }, { text: "hi", extra: 1 }]) {
    const refused = await call("POST", "/v1/intents/test", key, body);
    assert.equal(refused.statusCode, 400, JSON.stringify(body));
  }
  assert.deepEqual(
    { messages: await t.db.message.count(), conversations: await t.db.conversation.count() },
    before,
    "nothing stored",
  );
});

test("an agent export whose JSON holds text PostgreSQL cannot store is refused with 400, nothing imported", async () => {
  const before = await t.db.intent.count();
  const zip = zipSync({
    "agent.json": strToU8(JSON.stringify({ language: "en" })),
    "intents/greet.json": strToU8('{"name":"gr\\u0000eet","responses":[]}'),
    "intents/greet_usersays_en.json": strToU8('[{"data":[{"text":"hi \\ud800"}]}]'),
  });
  const response = await app.inject({
    method: "POST",
    url: "/v1/agent-import",
    headers: { authorization: `Bearer ${keys.a}`, "content-type": "application/zip" },
    payload: Buffer.from(zip),
  });
  assert.equal(response.statusCode, 400, response.body);
  assert.equal(response.json().error.code, "invalid_text");
  assert.match(response.json().error.message, /intents\/greet/);
  assert.equal(await t.db.intent.count(), before);
});

test("a zip bomb is refused with 413 once it inflates past the limits, and nothing of it is stored", async () => {
  const before = await t.db.intent.count();
  const zeros = new Uint8Array(8 * 1024 * 1024);
  // Nine files of 8 MiB of zeros: 72 MiB inflated from about 75 KB sent.
  const bomb = zipSync({
    "agent.json": strToU8(JSON.stringify({ language: "en" })),
    ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`intents/i${i}_usersays_en.json`, zeros])),
  });
  assert.ok(bomb.length < 200_000);
  const response = await app.inject({
    method: "POST",
    url: "/v1/agent-import",
    headers: { authorization: `Bearer ${keys.a}`, "content-type": "application/zip" },
    payload: Buffer.from(bomb),
  });
  assert.equal(response.statusCode, 413, response.body);
  assert.equal(response.json().error.code, "archive_too_large");
  assert.equal(await t.db.intent.count(), before);
});

test("the OpenAPI document lists every admin route; /docs serves the reference page", async () => {
  const doc = (await app.inject("/openapi.json")).json();
  assert.equal(doc.openapi, "3.1.0");
  for (const path of [
    "/v1/tenants",
    "/v1/api-keys",
    "/v1/channel-accounts",
    "/v1/channel-accounts/{id}/webhook",
    "/v1/intents/{id}",
    "/v1/entity-types",
    "/v1/fulfillment-endpoints/{id}/rotate-secret",
    "/v1/conversations/{id}/messages",
    "/v1/agent-import",
    "/v1/intents/test",
  ]) {
    assert.ok(doc.paths[path], path);
  }
  assert.ok(doc.paths["/v1/contacts/{id}"].patch, "PATCH /v1/contacts/{id}");
  const messages = doc.paths["/v1/conversations/{id}/messages"].get.responses["200"].content["application/json"].schema;
  const turn = messages.properties.data.items.properties.turn.anyOf[0];
  assert.deepEqual(Object.keys(turn.properties.fulfillment.properties), ["status", "responses", "calls"]);
  assert.ok(turn.description, "the messages' turn record is documented");
  assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith("/webhooks")), "webhooks are not part of the admin API");
  const page = await app.inject("/docs/");
  assert.equal(page.statusCode, 200);
  assert.match(page.headers["content-type"] as string, /html/);
});

test("no secret ever appears in a response body or a log line", async () => {
  const secrets = [
    BOT_TOKEN,
    "EAAG-token-secret",
    "app-secret-value",
    "p4ssword-secret",
    "header-secret",
    "xoxb-b",
    "b-signing",
    telegram.webhookOf(BOT_TOKEN)?.secretToken,
  ].filter(Boolean) as string[];
  const keyRows = await t.db.apiKey.findMany();
  assert.ok(bodies.length > 30 && logs.length > 30);
  for (const secret of secrets) {
    assert.ok(!bodies.some((b) => b.includes(secret)), `response leaks ${secret.slice(0, 4)}…`);
    assert.ok(!logs.some((l) => l.includes(secret)), `log leaks ${secret.slice(0, 4)}…`);
  }
  for (const key of [keys.a, keys.b]) assert.ok(!logs.some((l) => l.includes(key)), "API keys are redacted from logs");
  // Only hashes are stored: each key's row holds the SHA-256 of its secret, and no column of any
  // table holds the key or its secret.
  for (const key of [keys.a, keys.b]) {
    const [, id, secret] = /^cbk_(.{12})_(.{43})$/.exec(key)!;
    const row = keyRows.find((k) => k.id === id);
    assert.equal(row?.secretHash, createHash("sha256").update(secret!).digest("hex"));
    const tables = await t.db.$queryRawUnsafe<{ schema: string; name: string }[]>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
       WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    assert.ok(tables.some((table) => table.name === "ApiKey"));
    for (const { schema, name } of tables) {
      const [found] = await t.db.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM "${schema}"."${name}" AS r WHERE strpos(r::text, $1) > 0`,
        secret,
      );
      assert.equal(found!.n, 0, `${schema}.${name} holds an API key's secret`);
    }
  }
  // Whatever code logs a request's headers or an account's secrets, the logger redacts them.
  app.log.info(
    {
      headers: { authorization: `Bearer ${keys.a}`, "x-telegram-bot-api-secret-token": "tg-secret" },
      account: { secrets: { botToken: BOT_TOKEN } },
    },
    "debugging",
  );
  const line = logs.at(-1)!;
  assert.ok(!line.includes(keys.a) && !line.includes("tg-secret") && !line.includes(BOT_TOKEN));
  assert.equal((line.match(/\[Redacted\]/g) ?? []).length, 3);
});
