import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { ChannelAccount, InboundEvent } from "@cb/core";
import Fastify, { type FastifyInstance } from "fastify";
import { SECRET_HEADER, secretTokenMatches, driver } from "../src/index.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const SECRET = "s3cret-token_for-the-webhook";
const account: ChannelAccount = {
  id: "5e1d6a8e-0000-4000-8000-000000000001",
  tenantId: "t",
  channel: "telegram",
  config: { botId: 777, username: "ShopBot" },
  secrets: { botToken: "777:token", secretToken: SECRET },
};
// The same bot connected without knowing its own id and name (before getMe ran, say).
const anonymous: ChannelAccount = { ...account, id: "5e1d6a8e-0000-4000-8000-000000000002", config: {} };
let app: FastifyInstance;
let ingested: { account: ChannelAccount; events: InboundEvent[] }[] = [];

before(async () => {
  app = Fastify();
  await app.register(driver.webhook, {
    prefix: "/webhooks/telegram",
    loadAccount: async (id) => [account, anonymous].find((a) => a.id === id) ?? null,
    ingest: async (a, events) => void ingested.push({ account: a, events }),
  });
});
after(() => app.close());
beforeEach(() => {
  ingested = [];
});

const post = (payload: string, token: string | null = SECRET, id = account.id) =>
  app.inject({
    method: "POST",
    url: `/webhooks/telegram/${id}`,
    headers: { "content-type": "application/json", ...(token === null ? {} : { [SECRET_HEADER]: token }) },
    payload,
  });

test("the secret token is compared whole: a wrong, shorter, longer or missing one never matches", () => {
  assert.equal(SECRET_HEADER, "x-telegram-bot-api-secret-token");
  assert.equal(secretTokenMatches(SECRET, SECRET), true);
  assert.equal(secretTokenMatches(`${SECRET.slice(0, -1)}X`, SECRET), false);
  assert.equal(secretTokenMatches(SECRET.slice(0, -1), SECRET), false);
  assert.equal(secretTokenMatches(`${SECRET}x`, SECRET), false);
  assert.equal(secretTokenMatches(undefined, SECRET), false);
  assert.equal(secretTokenMatches([SECRET], SECRET), false, "a repeated header is no token");
});

test("forged updates are refused before anything is stored: unknown bot 404, wrong or missing secret token 401", async () => {
  const update = fixture("official_message_text.json");
  const unknown = await post(update, SECRET, "5e1d6a8e-0000-4000-8000-00000000ffff");
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, "unknown_account");
  for (const token of [null, "wrong", `${SECRET}x`, ""]) {
    const refused = await post(update, token);
    assert.equal(refused.statusCode, 401, String(token));
    assert.equal(refused.json().code, "invalid_secret_token");
  }
  // Checked before the body is even parsed: a forged request with a broken body is still 401, not 400.
  assert.equal((await post("{not json", "wrong")).statusCode, 401);
  assert.equal(ingested.length, 0);
});

test("a genuine update of each kind is normalized and ingested for its account", async () => {
  for (const name of [
    "official_message_text.json",
    "official_message_reply.json",
    "official_edited_message.json",
    "official_message_entities.json",
    "official_callback_query_inline.json",
    "real_callback_query_with_message.json",
  ]) {
    const response = await post(fixture(name));
    assert.equal(response.statusCode, 200, name);
    assert.deepEqual(response.json(), { ok: true });
  }
  assert.equal(ingested.length, 6);
  assert.ok(ingested.every((i) => i.account === account && i.events.length === 1));
  const first = ingested[0]!.events[0]!;
  assert.ok(first.type === "message");
  assert.equal(first.message.text, "/start");
  assert.deepEqual(first.raw, JSON.parse(fixture("official_message_text.json")));
});

test("bodies that are no Update are 400; updates of no use are acknowledged and not stored", async () => {
  for (const body of ['{"message":{}}', '{"update_id":"1"}', "null", "[1]", '"text"']) {
    const response = await post(body);
    assert.equal(response.statusCode, 400, body);
    assert.equal(response.json().code, "invalid_update", body);
  }
  const poll = await post(JSON.stringify({ update_id: 3, poll: { id: "1" } }));
  assert.equal(poll.statusCode, 200);
  assert.deepEqual(poll.json(), { ok: true });
  assert.equal(ingested.length, 0);
});

test("in groups the account's bot id and name decide what addresses it", async () => {
  const group = (extra: object) =>
    JSON.stringify({
      update_id: 20,
      message: {
        message_id: 5,
        date: 1700000000,
        chat: { id: -100123, type: "supergroup" },
        from: { id: 42, is_bot: false, first_name: "Ann" },
        ...extra,
      },
    });
  const mention = group({ text: "hi @ShopBot" });
  const reply = group({
    text: "thanks",
    reply_to_message: { message_id: 4, date: 1, chat: { id: -100123 }, from: { id: 777 } },
  });
  const chatter = group({ text: "hi all" });
  for (const [id, body] of [
    [account.id, mention],
    [account.id, reply],
    [account.id, chatter],
    [anonymous.id, mention],
    [anonymous.id, reply],
  ] as const)
    assert.equal((await post(body, SECRET, id)).statusCode, 200);
  assert.deepEqual(
    ingested.map((i) => i.events[0]!.type === "message" && i.events[0]!.message.addressedToBot),
    [true, true, false, false, false],
  );
  // Chatter is stored all the same (the conversation's history), and the turn skips it.
  assert.ok(ingested[2]!.events[0]!.type === "message" && ingested[2]!.events[0]!.message.text === "hi all");
});
