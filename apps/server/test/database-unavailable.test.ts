import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { isDatabaseUnavailable } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

let t: TestDatabase;
let app: FastifyInstance;
let ingestor: Ingestor;
let accountId: string;

before(async () => {
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  const tenant = await t.db.tenant.create({ data: { name: "Acme" } });
  accountId = (
    await t.db.channelAccount.create({
      data: {
        tenantId: tenant.id,
        channel: "telegram",
        name: "bot",
        secrets: sealer.sealJson({ botToken: "1:x", secretToken: "token" }),
      },
    })
  ).id;
  // The store is out of reach (nothing listens on port 1), as while PostgreSQL restarts.
  ingestor = createIngestor({ connectionString: "postgresql://postgres@127.0.0.1:1/gone" });
  app = await buildServer({
    db: t.db,
    ingestor,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} }),
    drivers: [telegramDriver],
  });
});
after(async () => {
  await app.close();
  await ingestor.close();
  await t.drop();
});

test("a webhook that cannot be stored while the database is unreachable gets 503 and Retry-After, for the platform to redeliver", async () => {
  const response = await app.inject({
    method: "POST",
    url: `/webhooks/telegram/${accountId}`,
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "token" },
    payload: {
      update_id: 1,
      message: { message_id: 1, date: 1700000000, chat: { id: 1, type: "private" }, text: "hi" },
    },
  });
  assert.equal(response.statusCode, 503, response.body);
  assert.equal(response.headers["retry-after"], "5");
  assert.equal(response.json().error.code, "unavailable");
});

test("what counts as the database being out of reach", () => {
  for (const err of [
    Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
    Object.assign(new Error("the database system is starting up"), { code: "57P03" }),
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    new Error("Connection terminated unexpectedly"),
    new Error("wrapped", { cause: Object.assign(new Error("x"), { code: "08006" }) }),
  ])
    assert.ok(isDatabaseUnavailable(err), err.message);
  for (const err of [
    Object.assign(new Error("duplicate key"), { code: "23505" }),
    new Error("invalid input syntax"),
    undefined,
  ])
    assert.ok(!isDatabaseUnavailable(err), String(err));
});
