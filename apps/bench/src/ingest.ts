// `npm run bench:ingest [-- --duration 10 --connections 50]`: durable webhook ingest against a bare
// fastify route on the same machine in the same run. Prints one JSON line, then a summary.
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { benchDatabase } from "./database.ts";
import { peakRssMb, startProcess, stop } from "./process.ts";

const { values } = parseArgs({ options: { duration: { type: "string", default: "10" }, connections: { type: "string", default: "50" } } });
const duration = Number(values.duration);
const connections = Number(values.connections);
const server = new URL("./ingest-server.ts", import.meta.url).pathname;

async function load(url: string, body: (n: number) => string, headers: Record<string, string>) {
  let n = 0;
  const result = await autocannon({
    url,
    method: "POST",
    connections,
    duration,
    headers: { "content-type": "application/json", ...headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: body(++n) }) }],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, ok: result["2xx"], errors: result.non2xx + result.errors, sent: n };
}

const database = await benchDatabase();
const keys = generateKey("bench");
const secretToken = "bench-secret-token";
const client = new pg.Client({ connectionString: database.url });
await client.connect();
const { rows: [tenant] } = await client.query<{ id: string }>(`INSERT INTO "Tenant" (id, name) VALUES (gen_random_uuid(), 'Bench') RETURNING id`);
const { rows: [account] } = await client.query<{ id: string }>(
  `INSERT INTO "ChannelAccount" (id, "tenantId", channel, name, secrets) VALUES (gen_random_uuid(), $1, 'telegram', 'bench bot', $2) RETURNING id`,
  [tenant!.id, createSealer(parseKeyRing(keys)).sealJson({ botToken: "1:bench", secretToken })],
);

// Unique updates from 1,000 chats, as a busy bot receives them.
const update = (n: number) =>
  JSON.stringify({
    update_id: n,
    message: { message_id: n, date: Math.floor(Date.now() / 1000), chat: { id: 1000 + (n % 1000), type: "private" }, from: { id: 1000 + (n % 1000), is_bot: false, first_name: "Load" }, text: `where is my order ${n}?` },
  });

const bare = await startProcess(server, ["bare"], {});
const bareRun = await load(`${bare.url}/webhook`, update, {});
await stop(bare.child);

const ingest = await startProcess(server, ["ingest"], { DATABASE_URL: database.url, SECRETS_KEYS: keys });
const ingestRun = await load(`${ingest.url}/webhooks/telegram/${account!.id}`, update, { "x-telegram-bot-api-secret-token": secretToken });
const rssMb = peakRssMb(ingest.child.pid!);
await stop(ingest.child);

const stored = Number((await client.query(`SELECT count(*) FROM "Message"`)).rows[0].count);
const jobs = Number((await client.query(`SELECT count(*) FROM graphile_worker._private_jobs`)).rows[0].count);
await client.end();
await database.drop();

const figures = {
  ingestRps: Math.round(ingestRun.rps),
  bareRps: Math.round(bareRun.rps),
  ratio: Number((ingestRun.rps / bareRun.rps).toFixed(3)),
  p50Ms: ingestRun.p50,
  p99Ms: ingestRun.p99,
  rssMb,
  acknowledged: ingestRun.ok,
  stored,
  jobs,
  errors: ingestRun.errors,
  connections,
  durationS: duration,
};
console.log(JSON.stringify(figures));
console.log(
  `ingest: ${figures.ingestRps} req/s (p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, peak RSS ${rssMb} MB) vs bare fastify ${figures.bareRps} req/s = ${(figures.ratio * 100).toFixed(1)}%; ` +
    `${figures.acknowledged} acknowledged, ${stored} stored, ${jobs} jobs, ${figures.errors} errors`,
);
if (stored < ingestRun.ok || jobs !== stored) {
  console.error("LOST WRITES: an acknowledged request was not stored with its job");
  process.exit(1);
}
