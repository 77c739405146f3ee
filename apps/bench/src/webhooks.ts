// `npm run bench:webhooks [-- --events 2000 --calls 500]`: event deliveries per second to a local
// receiver (signed, recorded, through graphile-worker), and the latency a fulfillment call adds over
// the receiver's own time. Prints one JSON line, then a summary.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { createDb, prismaSql } from "@cb/db";
import { createEgress, parsePolicy } from "@cb/egress";
import { createDeliverTask, DELIVER_EVENT, emitEvent } from "@cb/event-webhooks";
import { buildWebhookRequest, createFulfillmentClient, generateSigningSecret } from "@cb/fulfillment";
import { startWorker } from "@cb/jobs";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { benchDatabase } from "./database.ts";

const { values } = parseArgs({
  options: { events: { type: "string", default: "2000" }, calls: { type: "string", default: "500" } },
});
const events = Number(values.events);
const calls = Number(values.calls);

// The receiver answers at once and measures its own time per request.
let _received = 0;
const serverTimes: number[] = [];
const receiver = createServer((req, res) => {
  const started = performance.now();
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    _received++;
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(req.url === "/fulfillment" ? '{"fulfillmentText":"ok"}' : "{}");
    serverTimes.push(performance.now() - started);
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
const pct = (list: number[], p: number) =>
  Number([...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(p * list.length))]!.toFixed(2));

// 1. Deliveries per second.
const database = await benchDatabase();
const db = createDb(database.url);
const sealer = createSealer(parseKeyRing(generateKey("bench")));
const tenant = await db.tenant.create({ data: { name: "Bench" } });
await db.eventSubscription.create({
  data: {
    tenantId: tenant.id,
    url: `${base}/events`,
    eventTypes: ["*"],
    secrets: sealer.sealJson({ signingSecrets: [generateSigningSecret()] }),
  },
});
for (let i = 0; i < events; i += 100) {
  await db.$transaction(async (tx) => {
    for (let j = i; j < Math.min(events, i + 100); j++)
      await emitEvent(prismaSql(tx), { tenantId: tenant.id, type: "message.received", data: { n: j } });
  });
}
const started = performance.now();
const runner = await startWorker({
  connectionString: database.url,
  concurrency: 20,
  taskList: { [DELIVER_EVENT]: createDeliverTask({ db, egress, sealer }) },
});
while ((await db.eventDelivery.count({ where: { status: "succeeded" } })) < events)
  await new Promise((r) => setTimeout(r, 100));
const deliverySeconds = (performance.now() - started) / 1000;
await runner.stop();

// 2. Fulfillment overhead: our call (request building, signing, SSRF-guarded HTTP, parsing) minus the receiver's own time.
serverTimes.length = 0;
const client = createFulfillmentClient(egress);
const endpoint = {
  id: "bench",
  url: `${base}/fulfillment`,
  timeoutMs: 5000,
  auth: { signingSecrets: [generateSigningSecret()] },
};
const totals: number[] = [];
for (let i = 0; i < calls; i++) {
  const request = buildWebhookRequest({
    responseId: `r${i}`,
    projectId: "p",
    sessionId: "s",
    queryText: "where is my order 12345",
    languageCode: "en",
    intent: { id: "i", displayName: "order.status" },
    confidence: 0.9,
    parameters: { order_id: "12345" },
    allRequiredParamsPresent: true,
    contexts: [],
    channel: "telegram",
    payload: {},
  });
  const result = await client.call(endpoint, request);
  if (!result.ok) throw new Error(result.error);
  totals.push(result.latencyMs);
}
const overheads = totals.map((t, i) => t - (serverTimes[i] ?? 0));
client.shutdown();

await egress.close();
await db.$disconnect();
await database.drop();
receiver.close();

const figures = {
  events,
  deliveriesPerSecond: Math.round(events / deliverySeconds),
  deliverySeconds: Number(deliverySeconds.toFixed(2)),
  fulfillmentCalls: calls,
  fulfillmentP50Ms: pct(totals, 0.5),
  fulfillmentP99Ms: pct(totals, 0.99),
  addedP50Ms: pct(overheads, 0.5),
  addedP99Ms: pct(overheads, 0.99),
};
console.log(JSON.stringify(figures));
console.log(
  `event webhooks: ${figures.deliveriesPerSecond} deliveries/s (${events} signed, recorded deliveries in ${figures.deliverySeconds} s); ` +
    `fulfillment call adds p50 ${figures.addedP50Ms} ms, p99 ${figures.addedP99Ms} ms over the receiver's own time`,
);
