import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { driver as telegramDriver } from "@cb/channel-telegram";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

const update = readFileSync(
  new URL("../../../packages/channel-telegram/test/fixtures/official_message_text.json", import.meta.url),
  "utf8",
);
const secretToken = "s3cret-token_for-tests";
let t: TestDatabase;
let app: FastifyInstance;
let accountId: string;
let ingestor: Ingestor;

before(async () => {
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  const tenant = await t.db.tenant.create({ data: { name: "Acme" } });
  const account = await t.db.channelAccount.create({
    data: {
      tenantId: tenant.id,
      channel: "telegram",
      name: "Acme bot",
      secrets: sealer.sealJson({ botToken: "1:x", secretToken }),
    },
  });
  accountId = account.id;
  ingestor = createIngestor({ connectionString: t.url });
  app = await buildServer({
    db: t.db,
    ingestor,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} }),
    drivers: [telegramDriver],
    bodyLimit: 64 * 1024,
  });
});
after(async () => {
  await app.close();
  await ingestor.close();
  await t.drop();
});

const post = (headers: Record<string, string | undefined>, payload: string, id = accountId) =>
  app.inject({
    method: "POST",
    url: `/webhooks/telegram/${id}`,
    headers: { "content-type": "application/json", ...(headers as Record<string, string>) },
    payload,
  });
const counts = async () => ({
  messages: await t.db.message.count(),
  jobs: Number((await t.db.$queryRawUnsafe<{ n: bigint }[]>("SELECT count(*) AS n FROM graphile_worker.jobs"))[0]!.n),
});

test("a missing or wrong secret token is refused with 401 and nothing is stored", async () => {
  for (const headers of [
    {},
    { "x-telegram-bot-api-secret-token": "wrong" },
    { "x-telegram-bot-api-secret-token": `${secretToken}x` },
  ]) {
    const response = await post(headers, update);
    assert.equal(response.statusCode, 401);
    assert.equal(response.json().error.code, "invalid_secret_token");
    assert.ok(!response.body.includes(secretToken));
  }
  assert.deepEqual(await counts(), { messages: 0, jobs: 0 });
});

test("unknown bots are 404, malformed JSON 400, oversized bodies 413, all as JSON errors", async () => {
  const good = { "x-telegram-bot-api-secret-token": secretToken };
  assert.equal((await post(good, update, "4f1c2d9e-0000-4000-8000-000000000000")).json().error.code, "unknown_account");
  assert.equal((await post(good, update, "not-a-uuid")).statusCode, 404);
  const malformed = await post(good, "{not json");
  assert.equal(malformed.statusCode, 400);
  assert.deepEqual(malformed.json(), { error: { code: "invalid_json", message: "the body is not valid JSON" } });
  const notAnUpdate = await post(good, JSON.stringify({ hello: "world" }));
  assert.equal(notAnUpdate.statusCode, 400);
  assert.equal(notAnUpdate.json().error.code, "invalid_update");
  const big = await post(good, JSON.stringify({ update_id: 1, message: { text: "x".repeat(70 * 1024) } }));
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().error.code, "body_too_large");
  assert.deepEqual(await counts(), { messages: 0, jobs: 0 });
});

test("a verified update is stored with its job in the conversation's queue; a redelivery adds nothing", async () => {
  const good = { "x-telegram-bot-api-secret-token": secretToken };
  const first = await post(good, update);
  assert.equal(first.statusCode, 200);
  const again = await post(good, update);
  assert.equal(again.statusCode, 200);
  assert.deepEqual(await counts(), { messages: 1, jobs: 1 });
  const message = await t.db.message.findFirstOrThrow({ include: { conversation: true } });
  assert.equal(message.dedupeKey, "10000");
  assert.equal(message.conversation.externalId, "1111111");
  assert.equal((message.content as { text: string }).text, "/start");
  assert.deepEqual(message.raw, JSON.parse(update));
  const [job] = await t.db.$queryRawUnsafe<
    { task_identifier: string; queue_name: string; payload: { messageId: string } }[]
  >(
    `SELECT t.identifier AS task_identifier, q.queue_name, j.payload FROM graphile_worker._private_jobs j
       JOIN graphile_worker._private_tasks t ON t.id = j.task_id LEFT JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id`,
  );
  assert.equal(job!.task_identifier, "handle-message");
  assert.equal(job!.queue_name, `conversation:${message.conversationId}`);
  assert.equal(job!.payload.messageId, message.id);
});

test("health and readiness", async () => {
  assert.deepEqual((await app.inject("/healthz")).json(), { status: "ok" });
  assert.deepEqual((await app.inject("/readyz")).json(), { status: "ready" });
  const missing = await app.inject("/nope");
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, "not_found");
});
