// `npm run bench:ingest [-- --duration 10 --connections 50]`: durable webhook ingest against a bare
// fastify route on the same machine in the same run. Prints one JSON line, then a summary.
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { expandInbound, HANDLE_MESSAGE } from "@cb/conversation";
import { createPool } from "@cb/db";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { benchDatabase } from "./database.ts";
import { peakRssMb, startProcess, stop } from "./process.ts";

const { values } = parseArgs({
  options: { duration: { type: "string", default: "10" }, connections: { type: "string", default: "50" } },
});
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
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    errors: result.non2xx + result.errors,
    sent: n,
  };
}

const database = await benchDatabase();
const keys = generateKey("bench");
const secretToken = "bench-secret-token";
const client = new pg.Client({ connectionString: database.url });
await client.connect();
const {
  rows: [tenant],
} = await client.query<{ id: string }>(
  `INSERT INTO "Tenant" (id, name) VALUES (gen_random_uuid(), 'Bench') RETURNING id`,
);
const {
  rows: [account],
} = await client.query<{ id: string }>(
  `INSERT INTO "ChannelAccount" (id, "tenantId", channel, name, secrets) VALUES (gen_random_uuid(), $1, 'telegram', 'bench bot', $2) RETURNING id`,
  [tenant!.id, createSealer(parseKeyRing(keys)).sealJson({ botToken: "1:bench", secretToken })],
);

// Unique updates from 1,000 chats, as a busy bot receives them.
const update = (n: number) =>
  JSON.stringify({
    update_id: n,
    message: {
      message_id: n,
      date: Math.floor(Date.now() / 1000),
      chat: { id: 1000 + (n % 1000), type: "private" },
      from: { id: 1000 + (n % 1000), is_bot: false, first_name: "Load" },
      text: `where is my order ${n}?`,
    },
  });

// A bare route's rate moves by a third from one run to the next on a shared machine: it is measured
// before and after the durable run, and the ratio taken against the higher of the two.
async function bareRun() {
  const bare = await startProcess(server, ["bare"], {});
  const run = await load(`${bare.url}/webhook`, update, {});
  await stop(bare.child);
  return run;
}
const bareBefore = await bareRun();
const ingest = await startProcess(server, ["ingest"], { DATABASE_URL: database.url, SECRETS_KEYS: keys });
const ingestRun = await load(`${ingest.url}/webhooks/telegram/${account!.id}`, update, {
  "x-telegram-bot-api-secret-token": secretToken,
});
const rssMb = peakRssMb(ingest.child.pid!);
await stop(ingest.child);
const bareAfter = await bareRun();
const bareRps = Math.max(bareBefore.rps, bareAfter.rps);

// Acknowledged means stored: as a Message with its job (a write at light load, at the start), or in
// an InboundBatch row (the inbox, under load). No worker runs here; the inbox is drained after the
// load, timed, as one worker's expansion would.
const count = async (sql: string) => Number((await client.query(sql)).rows[0].count);
const storedDirectly = await count(`SELECT count(*) FROM "Message"`);
const backlog = await count(
  `SELECT count(*) FROM "InboundBatch" b, json_array_elements(b.events) g, json_array_elements(g->'events') e`,
);
const pool = createPool(database.url, { max: 1 });
const drainStarted = performance.now();
await expandInbound(pool, { budgetMs: Infinity });
const drainS = (performance.now() - drainStarted) / 1000;
await pool.end();
const messages = await count(`SELECT count(*) FROM "Message"`);
const jobs = await count(`SELECT count(*) FROM graphile_worker.jobs WHERE task_identifier = '${HANDLE_MESSAGE}'`);
await client.end();
await database.drop();

const figures = {
  ingestRps: Math.round(ingestRun.rps),
  bareRps: Math.round(bareRps),
  ratio: Number((ingestRun.rps / bareRps).toFixed(3)),
  p50Ms: ingestRun.p50,
  p99Ms: ingestRun.p99,
  rssMb,
  acknowledged: ingestRun.ok,
  stored: storedDirectly + backlog,
  errors: ingestRun.errors,
  storedDirectly,
  backlog,
  drainPerSecond: Math.round(backlog / drainS),
  messages,
  jobs,
  bareRpsRuns: [Math.round(bareBefore.rps), Math.round(bareAfter.rps)],
  connections,
  durationS: duration,
};
console.log(JSON.stringify(figures));
console.log(
  `ingest: ${figures.ingestRps} req/s (p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, peak RSS ${rssMb} MB) vs bare fastify ${figures.bareRps} req/s = ${(figures.ratio * 100).toFixed(1)}%; ` +
    `${figures.acknowledged} acknowledged, ${figures.stored} stored, ${figures.errors} errors; ` +
    `${storedDirectly} stored as messages directly, ${backlog} through the inbox, expanded after the run at ${figures.drainPerSecond}/s`,
);
if (figures.stored < ingestRun.ok || messages !== figures.stored || jobs !== messages) {
  console.error("LOST WRITES: an acknowledged request was not stored, or not expanded into its message and job");
  process.exit(1);
}
