// `npm run bench:health`: webhook health over a busy endpoint. CALLS fulfillment calls spread over
// 7 days (10% failed) on the measured endpoint and as many on another, written in time order as
// they would be; then each route's latency
// through the admin API (in-process inject: the handler and PostgreSQL, no network), median and
// p95 of RUNS requests, and one run of the degraded/recovered check over every endpoint.
import { createAccountDirectory, createIngestor } from "@cb/conversation";
import { createDb, createPool } from "@cb/db";
import { checkWebhookHealth } from "@cb/event-webhooks";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { buildServer } from "@cb/server";
import { benchDatabase } from "./database.ts";

const CALLS = Number(process.env.CALLS ?? 200_000);
const RUNS = Number(process.env.RUNS ?? 30);
const OPERATOR = "bench-operator-token-0123456789";

const database = await benchDatabase();
const pool = createPool(database.url);
const db = createDb(pool);
const sealer = createSealer(parseKeyRing(generateKey("bench")));
const ingestor = createIngestor({ connectionString: database.url });
const app = await buildServer({
  db,
  accounts: createAccountDirectory({ db, sealer, drivers: [], env: {} }),
  ingestor,
  drivers: [],
  admin: { db, sealer, channelEnv: {}, operatorToken: OPERATOR },
});
const created = (
  await app.inject({
    method: "POST",
    url: "/v1/tenants",
    headers: { authorization: `Bearer ${OPERATOR}` },
    payload: { name: "Bench" },
  })
).json();
const tenantId: string = created.tenant.id;
const headers = { authorization: `Bearer ${created.apiKey.key}` };
const account = await db.channelAccount.create({ data: { tenantId, channel: "telegram", name: "b", secrets: "x" } });
const chat = await db.conversation.create({ data: { tenantId, channelAccountId: account.id, externalId: "1" } });
const message = await db.message.create({
  data: {
    tenantId,
    channelAccountId: account.id,
    conversationId: chat.id,
    direction: "in",
    dedupeKey: "1",
    content: {},
    status: "processed",
  },
});
const endpoints = await Promise.all(
  ["measured", "other"].map((name) =>
    db.fulfillmentEndpoint.create({ data: { tenantId, name, url: `https://${name}.example.com/hook` } }),
  ),
);
const seeding = performance.now();
for (const e of endpoints)
  await pool.query(
    `INSERT INTO "FulfillmentCall" (id, "tenantId", "messageId", "endpointId", intent, ok, "httpStatus", "latencyMs", "errorClass", "requestBody", "createdAt")
     SELECT gen_random_uuid(), $1, $2, $3, 'order.status', f, CASE WHEN f THEN 200 ELSE 503 END, (random() * 400)::int,
       CASE WHEN f THEN NULL ELSE 'http_5xx' END, '{"responseId":"r"}', at
     FROM (SELECT random() > 0.1 AS f, now() - random() * interval '7 days' AS at FROM generate_series(1, $4)) g
     ORDER BY at`,
    [tenantId, message.id, e.id, CALLS],
  );
await pool.query(`ANALYZE "FulfillmentCall"`);
const seededMs = Math.round(performance.now() - seeding);

async function latency(url: string): Promise<{ medianMs: number; p95Ms: number }> {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const start = performance.now();
    const response = await app.inject({ method: "GET", url, headers });
    if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
    if (i >= 3) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    medianMs: round(times[Math.floor(times.length / 2)]!),
    p95Ms: round(times[Math.ceil(times.length * 0.95) - 1]!),
  };
}

const id = endpoints[0]!.id;
const figures = {
  callsPerEndpoint: CALLS,
  seededMs,
  health1h: await latency(`/v1/fulfillment-endpoints/${id}/health?window=1h`),
  health24h: await latency(`/v1/fulfillment-endpoints/${id}/health?window=24h`),
  health7d: await latency(`/v1/fulfillment-endpoints/${id}/health?window=7d`),
  overview: await latency("/v1/webhook-health"),
  failedCallsPage: await latency(`/v1/fulfillment-endpoints/${id}/calls?outcome=failed&limit=50`),
  checkMs: await (async () => {
    const start = performance.now();
    await checkWebhookHealth(db);
    return Math.round(performance.now() - start);
  })(),
};
await app.close();
await ingestor.close();
await db.$disconnect();
await pool.end();
await database.drop();
console.log(JSON.stringify(figures));
