// Correctly signed but hostile platform payloads, on all four webhooks: text PostgreSQL cannot store
// is cleaned (the message is kept), absurd nesting and shapes no platform sends are refused with a
// 4xx, and nothing gives a 5xx, which the platform would send again for hours.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { driver as messengerDriver } from "@cb/channel-messenger";
import { driver as slackDriver } from "@cb/channel-slack";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { driver as whatsappDriver } from "@cb/channel-whatsapp";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

const SECRET_TOKEN = "telegram-secret-token";
const APP_SECRET = "meta-app-secret";
const SIGNING_SECRET = "slack-signing-secret";
let t: TestDatabase;
let app: FastifyInstance;
let ingestor: Ingestor;
const ids: Record<"telegram" | "whatsapp" | "messenger" | "slack", string> = {
  telegram: "",
  whatsapp: "",
  messenger: "",
  slack: "",
};

before(async () => {
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  const tenant = await t.db.tenant.create({ data: { name: "Acme" } });
  const account = async (channel: keyof typeof ids, config: object, secrets: object) =>
    (
      await t.db.channelAccount.create({
        data: { tenantId: tenant.id, channel, name: channel, config, secrets: sealer.sealJson(secrets) },
      })
    ).id;
  ids.telegram = await account(
    "telegram",
    { botId: 4242, username: "ShopBot" },
    { botToken: "4242:x", secretToken: SECRET_TOKEN },
  );
  ids.whatsapp = await account(
    "whatsapp",
    { phoneNumberId: "106540352242922" },
    { accessToken: "a", appSecret: APP_SECRET, verifyToken: "v" },
  );
  ids.messenger = await account(
    "messenger",
    { pageId: "1895382890692545" },
    { pageAccessToken: "p", appSecret: APP_SECRET, verifyToken: "v" },
  );
  ids.slack = await account("slack", { botUserId: "UBOT" }, { botToken: "xoxb-1", signingSecret: SIGNING_SECRET });
  const drivers = [telegramDriver, whatsappDriver, messengerDriver, slackDriver];
  ingestor = createIngestor({ connectionString: t.url });
  app = await buildServer({
    db: t.db,
    ingestor,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers, env: {} }),
    drivers,
  });
});
after(async () => {
  await app.close();
  await ingestor.close();
  await t.drop();
});

/** Posts a body to a channel's webhook, signed as the platform signs it. */
function post(channel: keyof typeof ids, body: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (channel === "telegram") headers["x-telegram-bot-api-secret-token"] = SECRET_TOKEN;
  if (channel === "whatsapp" || channel === "messenger")
    headers["x-hub-signature-256"] = `sha256=${createHmac("sha256", APP_SECRET).update(body).digest("hex")}`;
  if (channel === "slack") {
    const ts = Math.floor(Date.now() / 1000);
    headers["x-slack-request-timestamp"] = String(ts);
    headers["x-slack-signature"] =
      `v0=${createHmac("sha256", SIGNING_SECRET).update(`v0:${ts}:${body}`).digest("hex")}`;
  }
  return app.inject({ method: "POST", url: `/webhooks/${channel}/${ids[channel]}`, headers, payload: body });
}

/** A text message on each channel, its text given as JSON source (so escapes reach the parser as sent). */
const MESSAGE: Record<keyof typeof ids, (id: number, text: string) => string> = {
  telegram: (id, text) =>
    `{"update_id":${id},"message":{"message_id":${id},"date":1700000000,"chat":{"id":77,"type":"private"},"from":{"id":77,"is_bot":false,"first_name":"Ada"},"text":${text}}}`,
  whatsapp: (id, text) =>
    `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ada"},"wa_id":"972987654321"}],"messages":[{"from":"972987654321","id":"wamid.${id}","timestamp":"1700000000","type":"text","text":{"body":${text}}}]}}]}]}`,
  messenger: (id, text) =>
    `{"object":"page","entry":[{"id":"1895382890692545","time":1700000000000,"messaging":[{"sender":{"id":"55"},"recipient":{"id":"1895382890692545"},"timestamp":1700000000000,"message":{"mid":"m_${id}","text":${text}}}]}]}`,
  slack: (id, text) =>
    `{"type":"event_callback","team_id":"T111","event_id":"Ev${id}","event":{"type":"message","channel_type":"im","user":"U1","text":${text},"ts":"1700000000.${id}","channel":"D1"}}`,
};

/** Shapes no platform sends: the right envelope, wrong types inside. */
const MALFORMED: Record<keyof typeof ids, string[]> = {
  telegram: [
    '{"update_id":9001,"message":{"message_id":"x","date":"yesterday","chat":5,"text":7}}',
    '{"update_id":9002,"message":null,"callback_query":{"id":1,"from":null,"data":{}}}',
    '{"update_id":9003,"edited_message":{"chat":{"id":{}},"from":[],"text":[]}}',
  ],
  whatsapp: [
    '{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"from":1,"id":2,"timestamp":"bad","type":"text","text":null}]}}]}]}',
    '{"object":"whatsapp_business_account","entry":"x"}',
    '{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"id":5,"status":{},"timestamp":"x"}]}}]}]}',
  ],
  messenger: [
    '{"object":"page","entry":[{"messaging":[{"sender":null,"timestamp":"x","message":{"text":5}}]}]}',
    '{"object":"page","entry":[{"messaging":"x"}]}',
    '{"object":"page","entry":[{"messaging":[{"sender":{"id":5},"postback":{"payload":{}},"timestamp":-8.64e15}]}]}',
  ],
  slack: [
    '{"type":"event_callback","team_id":"T111","event_id":"E1","event":{"type":"message","user":5,"text":{},"ts":null,"channel":[]}}',
    '{"type":"event_callback","event":"x"}',
    '{"type":"block_actions","actions":"x","user":null}',
  ],
};

const CHANNELS = Object.keys(ids) as (keyof typeof ids)[];
const storedTexts = async () =>
  (await t.db.message.findMany({ where: { direction: "in" }, select: { content: true } })).map(
    (m) => (m.content as { text?: string }).text,
  );

test("a NUL or a lone surrogate in a signed message is cleaned by the store and the message kept, on every channel", async () => {
  for (const [i, channel] of CHANNELS.entries()) {
    const nul = await post(channel, MESSAGE[channel](100 + i, '"where\\u0000 is my order"'));
    assert.equal(nul.statusCode, 200, `${channel} NUL: ${nul.body}`);
    const surrogate = await post(channel, MESSAGE[channel](200 + i, '"broken \\ud83d emoji"'));
    assert.equal(surrogate.statusCode, 200, `${channel} lone surrogate: ${surrogate.body}`);
  }
  const texts = await storedTexts();
  assert.equal(texts.filter((x) => x === "where is my order").length, 4, `NUL dropped: ${JSON.stringify(texts)}`);
  assert.equal(texts.filter((x) => x === "broken \ufffd emoji").length, 4, "the lone surrogate replaced");
});

test("signed payloads nested 10,000 deep, or shaped unlike the platform's, get a 4xx and store nothing", async () => {
  const before = await t.db.message.count();
  for (const channel of CHANNELS) {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    const nested = await post(channel, MESSAGE[channel](300, `"x","extra":${deep}`));
    assert.equal(nested.statusCode, 400, `${channel} deep: ${nested.body}`);
    for (const body of MALFORMED[channel]) {
      const response = await post(channel, body);
      assert.ok(response.statusCode < 500, `${channel} ${body}: ${response.statusCode} ${response.body}`);
      assert.ok(response.statusCode === 200 || typeof response.json().error.code === "string");
    }
  }
  assert.equal(await t.db.message.count(), before, "nothing stored");
  const valid = await post("telegram", MESSAGE.telegram(400, '"still here"'));
  assert.equal(valid.statusCode, 200, "the server still takes real messages");
});
