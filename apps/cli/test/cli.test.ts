import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { buildServer } from "@cb/server";
import type { FastifyInstance } from "fastify";
import { program } from "../src/index.ts";

const OPERATOR = "operator-token-for-cli-tests";
const oldKey = generateKey("old");
let t: TestDatabase;
let app: FastifyInstance;
let ingestor: Ingestor;
let url: string;

before(async () => {
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(oldKey));
  ingestor = createIngestor({ connectionString: t.url });
  app = await buildServer({
    db: t.db,
    ingestor,
    drivers: [telegramDriver],
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} }),
    admin: { db: t.db, sealer, publicBaseUrl: "https://bot.example.com", channelEnv: {}, operatorToken: OPERATOR },
  });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});
after(async () => {
  await app.close();
  await ingestor.close();
  await t.drop();
});

async function cb(env: Record<string, string | undefined>, ...args: string[]): Promise<any> {
  let out: unknown;
  await program({ CB_API_URL: url, ...env }, (value) => (out = value))
    .exitOverride()
    .parseAsync(["node", "cb", ...args]);
  return out;
}

test("a scripted setup: tenant, key, channel, intents", async () => {
  const created = await cb({ CB_ADMIN_TOKEN: OPERATOR }, "tenant", "create", "Acme", "--timezone", "Europe/Berlin");
  assert.equal(created.tenant.timezone, "Europe/Berlin");
  const admin = created.apiKey.key;
  const reader = await cb({ CB_API_KEY: admin }, "key", "create", "dashboards", "--scopes", "read-only");
  assert.deepEqual(reader.scopes, ["read-only"]);
  const connected = await cb(
    { CB_API_KEY: admin },
    "connect",
    "whatsapp",
    "Shop",
    "--config",
    "phoneNumberId=106540352242922",
    "--credential",
    "accessToken=EAAG-x",
    "--credential",
    "appSecret=s3cret",
  );
  assert.match(connected.setup.callbackUrl, /^https:\/\/bot\.example\.com\/webhooks\/whatsapp\//);
  assert.equal((await cb({ CB_API_KEY: reader.key }, "channels")).data.length, 1);
  await assert.rejects(cb({ CB_API_KEY: reader.key }, "key", "create", "nope"), /403 forbidden/);
  assert.deepEqual((await cb({ CB_API_KEY: admin }, "intents")).data, []);
  const subscription = await cb(
    { CB_API_KEY: admin },
    "subscribe",
    "https://acme.example/events",
    "--events",
    "message.received,intent.matched",
  );
  assert.deepEqual(subscription.subscription.eventTypes, ["message.received", "intent.matched"]);
  assert.deepEqual((await cb({ CB_API_KEY: admin }, "deliveries", subscription.subscription.id)).data, []);
});

test("rotate-secrets re-seals every credential with the newest key; the old key can then go", async () => {
  const ring = `${generateKey("new")},${oldKey}`;
  const result = await cb({ DATABASE_URL: t.url, SECRETS_KEYS: ring }, "rotate-secrets");
  assert.deepEqual(result, { channelAccounts: 1, fulfillmentEndpoints: 0, eventSubscriptions: 1, tenants: 0 });
  const newOnly = createSealer(parseKeyRing(ring.split(",")[0]!));
  const row = await t.db.channelAccount.findFirstOrThrow();
  assert.deepEqual(newOnly.openJson<{ appSecret: string }>(row.secrets).appSecret, "s3cret");
  assert.deepEqual(
    await cb({ DATABASE_URL: t.url, SECRETS_KEYS: ring }, "rotate-secrets"),
    { channelAccounts: 0, fulfillmentEndpoints: 0, eventSubscriptions: 0, tenants: 0 },
    "nothing left to do",
  );
});
