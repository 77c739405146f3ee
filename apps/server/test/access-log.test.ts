import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "@cb/logging";
import { driver as whatsappDriver } from "@cb/channel-whatsapp";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

const VERIFY_TOKEN = "meta-verify-token-9f8e7d";
let t: TestDatabase;
let app: FastifyInstance;
let ingestor: Ingestor;
let accountId: string;
const lines: string[] = [];

before(async () => {
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  const tenant = await t.db.tenant.create({ data: { name: "Acme" } });
  accountId = (
    await t.db.channelAccount.create({
      data: {
        tenantId: tenant.id,
        channel: "whatsapp",
        name: "wa",
        config: { phoneNumberId: "1" },
        secrets: sealer.sealJson({ accessToken: "a", appSecret: "s", verifyToken: VERIFY_TOKEN }),
      },
    })
  ).id;
  ingestor = createIngestor({ connectionString: t.url });
  app = await buildServer({
    db: t.db,
    ingestor,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [whatsappDriver], env: {} }),
    drivers: [whatsappDriver],
    logger: createLogger({
      level: "trace",
      destination: new Writable({
        write: (chunk, _encoding, done) => {
          lines.push(String(chunk));
          done();
        },
      }),
    }),
  });
});
after(async () => {
  await app.close();
  await ingestor.close();
  await t.drop();
});

test("the access log keeps a query string's names and hides its values (Meta's verify token)", async () => {
  const response = await app.inject(
    `/webhooks/whatsapp/${accountId}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=42`,
  );
  assert.equal(response.statusCode, 200);
  assert.equal(response.body, "42");
  const logged = lines.join("");
  assert.ok(logged.includes(`/webhooks/whatsapp/${accountId}?hub.mode=[Redacted]`), "the request is logged");
  assert.ok(!logged.includes(VERIFY_TOKEN), "the verify token is not");
});
