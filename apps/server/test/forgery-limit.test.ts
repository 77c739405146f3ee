import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { registry } from "@cb/observability";
import { parsePrometheus, sampleValue } from "@cb/observability/testing";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

const SECRET_TOKEN = "the-real-secret-token";
const sealer = createSealer(parseKeyRing(generateKey("test")));
let t: TestDatabase;
let ingestor: Ingestor;
let accountId: string;
const servers: FastifyInstance[] = [];

/** A web process of its own on the shared database: its memory is its own, its counts are not. */
async function webProcess(): Promise<FastifyInstance> {
  const app = await buildServer({
    db: t.db,
    ingestor,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} }),
    drivers: [telegramDriver],
    forgeryLimit: { pool: t.pool, failures: 5, windowS: 60, blockS: 60 },
  });
  servers.push(app);
  return app;
}

before(async () => {
  t = await createTestDatabase();
  const tenant = await t.db.tenant.create({ data: { name: "Acme" } });
  accountId = (
    await t.db.channelAccount.create({
      data: {
        tenantId: tenant.id,
        channel: "telegram",
        name: "bot",
        secrets: sealer.sealJson({ botToken: "1:x", secretToken: SECRET_TOKEN }),
      },
    })
  ).id;
  ingestor = createIngestor({ connectionString: t.url });
});
after(async () => {
  for (const app of servers) await app.close();
  await ingestor.close();
  await t.drop();
});

let updateId = 0;
function post(app: FastifyInstance, from: string, secretToken: string) {
  updateId++;
  return app.inject({
    method: "POST",
    url: `/webhooks/telegram/${accountId}`,
    remoteAddress: from,
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secretToken },
    payload: {
      update_id: updateId,
      message: { message_id: updateId, date: 1700000000, chat: { id: 1, type: "private" }, text: "hi" },
    },
  });
}

test("a source that keeps failing verification is refused with 429, others and real requests are not", async () => {
  const app = await webProcess();
  const attacker = "203.0.113.7";
  for (let i = 0; i < 6; i++) assert.equal((await post(app, attacker, "forged")).statusCode, 401, `forgery ${i + 1}`);
  const refused = await post(app, attacker, SECRET_TOKEN);
  assert.equal(refused.statusCode, 429, "past the limit even a correct request from there waits");
  assert.ok(Number(refused.headers["retry-after"]) > 0);
  assert.equal(refused.json().error.code, "too_many_failures");
  assert.equal((await post(app, "198.51.100.1", SECRET_TOKEN)).statusCode, 200, "another source is served");
  assert.equal((await post(app, "198.51.100.1", "forged")).statusCode, 401, "and counted on its own");
});

test("every web process shares the count: a second one refuses the source after its first failure", async () => {
  const other = await webProcess();
  const attacker = "203.0.113.7";
  assert.equal((await post(other, attacker, "forged")).statusCode, 401, "this process had not seen it yet");
  assert.equal((await post(other, attacker, SECRET_TOKEN)).statusCode, 429, "the shared count says it is over");
  const { rows } = await t.pool.query<{ points: number }>(`SELECT points FROM "RateLimit" WHERE key = $1`, [
    `verify:${attacker}`,
  ]);
  assert.ok(rows[0]!.points > 5, "counted in PostgreSQL");
});

test("webhooks the limit refuses are counted as rejected, with its reason", async () => {
  const app = await webProcess();
  const attacker = "203.0.113.99";
  for (let i = 0; i < 6; i++) await post(app, attacker, "forged");
  const before = parsePrometheus(await registry.metrics());
  assert.equal((await post(app, attacker, SECRET_TOKEN)).statusCode, 429);
  const after = parsePrometheus(await registry.metrics());
  const moved = (name: string, labels: Record<string, string>) =>
    sampleValue(after, name, labels) - sampleValue(before, name, labels);
  assert.equal(moved("cb_webhooks_received_total", { channel: "telegram" }), 1);
  assert.equal(moved("cb_webhooks_rejected_total", { channel: "telegram", reason: "too_many_failures" }), 1);
});
