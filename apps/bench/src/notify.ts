// `npm run bench:notify [-- --events 10000]`: a burst of signed order events posted to the server
// (the real intake), notifications sent by a worker to a local Telegram Bot API stand-in. Prints
// throughput and the time from event to message (p50, p99) as one JSON line, then a summary.
// `--scenario scheduled`: scheduled messages instead (notify-scheduled.ts).
import { postgresSendLimits } from "@cb/core";
import { parseArgs } from "node:util";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory, createIngestor } from "@cb/conversation";
import { createDb, createPool } from "@cb/db";
import { startFakeTelegram } from "@cb/fake-telegram";
import { generateSigningSecret, signatureHeaders } from "@cb/fulfillment";
import { startWorker } from "@cb/jobs";
import { createNotificationTasks } from "@cb/notifications";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { buildServer } from "@cb/server";
import { benchDatabase } from "./database.ts";
import { runScheduled } from "./notify-scheduled.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "10000" },
    customers: { type: "string", default: "5000" },
    bots: { type: "string", default: "20" },
    scenario: { type: "string", default: "burst" },
    messages: { type: "string", default: "5000" },
    future: { type: "string", default: "100000" },
    window: { type: "string", default: "60" },
  },
});
if (values.scenario === "scheduled") {
  await runScheduled({
    messages: Number(values.messages),
    future: Number(values.future),
    bots: Number(values.bots),
    windowSeconds: Number(values.window),
  });
  process.exit(0);
}
const events = Number(values.events);
const customers = Number(values.customers);
// Telegram allows a bot about 30 messages a second, and the sender keeps to that: spread customers
// over several bots to measure this system rather than one bot's allowance.
const bots = Array.from({ length: Number(values.bots) }, (_, i) => `${5550 + i}:bench-token`);

const database = await benchDatabase();
const pool = createPool(database.url, { max: 20 });
const db = createDb(pool);
const sealer = createSealer(parseKeyRing(generateKey("bench")));
const telegram = await startFakeTelegram();
for (const token of bots) telegram.addBot(token);
const secret = generateSigningSecret();
const tenant = await db.tenant.create({ data: { name: "Bench", eventsSecret: sealer.seal(secret) } });
const accounts_ = await Promise.all(
  bots.map((botToken, i) =>
    db.channelAccount.create({
      data: {
        tenantId: tenant.id,
        channel: "telegram",
        name: `bot ${i}`,
        secrets: sealer.sealJson({ botToken, secretToken: "s" }),
      },
    }),
  ),
);
for (let i = 0; i < customers; i += 500) {
  await db.$transaction(async (tx) => {
    for (let c = i; c < Math.min(customers, i + 500); c++) {
      await tx.contact.create({
        data: {
          tenantId: tenant.id,
          customerId: `c${c}`,
          identities: {
            create: [
              { tenantId: tenant.id, channelAccountId: accounts_[c % bots.length]!.id, externalId: String(100000 + c) },
            ],
          },
        },
      });
    }
  });
}
await db.notificationRule.create({
  data: {
    tenantId: tenant.id,
    name: "shipped",
    eventType: "order.shipped",
    conditions: ["$.data.total > 0"],
    template: { text: "Order {{data.orderId}} has shipped" },
    contactMatch: { by: "customerId", path: "$.data.customerId" },
    channelOrder: ["telegram"],
  },
});

const accounts = createAccountDirectory({
  db,
  sealer,
  drivers: [telegramDriver],
  env: { TELEGRAM_API_ROOT: telegram.url },
  limits: postgresSendLimits(pool),
});
const ingestor = createIngestor({ connectionString: database.url });
const app = await buildServer({
  db,
  accounts,
  ingestor,
  drivers: [telegramDriver],
  admin: { db, sealer, channelEnv: {} },
});
const runner = await startWorker({
  connectionString: database.url,
  concurrency: 20,
  taskList: createNotificationTasks({ db, pool, getSender: (id) => accounts.sender(id) }),
});

const postedAt = new Map<string, number>();
const started = performance.now();
const queue = Array.from({ length: events }, (_, i) => i);
await Promise.all(
  Array.from({ length: 20 }, async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const body = JSON.stringify({
        type: "order.shipped",
        data: { orderId: `O${i}`, customerId: `c${i % customers}`, total: 10 + i },
      });
      postedAt.set(`O${i}`, performance.now());
      const response = await app.inject({
        method: "POST",
        url: `/v1/tenants/${tenant.id}/events`,
        headers: { "content-type": "application/json", ...signatureHeaders([secret], `evt-${i}`, body) },
        payload: body,
      });
      if (response.statusCode !== 202) throw new Error(`event ${i}: ${response.statusCode} ${response.body}`);
    }
  }),
);
const postSeconds = (performance.now() - started) / 1000;
while (telegram.calls.filter((c) => c.method === "sendMessage").length < events)
  await new Promise((r) => setTimeout(r, 200));
const seconds = (performance.now() - started) / 1000;
const latencies = telegram.calls
  .filter((c) => c.method === "sendMessage")
  .map((c) => c.at - performance.timeOrigin - postedAt.get(String(c.params.text).split(" ")[1]!)!)
  .sort((a, b) => a - b);
const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!);

await runner.stop();
await app.close();
await ingestor.close();
await telegram.close();
await db.$disconnect();
await pool.end();
await database.drop();

const figures = {
  events,
  customers,
  bots: bots.length,
  seconds: Number(seconds.toFixed(1)),
  postSeconds: Number(postSeconds.toFixed(1)),
  throughput: Math.round(events / seconds),
  p50Ms: pct(0.5),
  p99Ms: pct(0.99),
};
console.log(JSON.stringify(figures));
console.log(
  `notifications: ${events} signed events → ${events} Telegram messages over ${bots.length} bots in ${figures.seconds} s (${figures.throughput}/s); event to message p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms`,
);
