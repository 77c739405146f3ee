// `npm run bench:turn [-- --rate 200 --duration 10 --servers 1 --workers 1 --backend-ms 0]`: turn
// latency at a steady rate of conversations. Telegram updates are posted to server processes;
// worker processes answer them (NLU, a fulfillment backend that answers at once or after
// `--backend-ms`, the reply to a local Bot API stand-in). Measures webhook-in → reply-accepted, checks that every update got exactly one reply,
// and prints one JSON line and a summary. `--servers 2 --workers 2` is the scale-out run.
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import pg from "pg";
import { startFakeTelegram } from "@cb/fake-telegram";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { benchDatabase } from "./database.ts";
import { cpuSeconds, peakRssMb, spawnRole, startProcess, stop } from "./process.ts";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "200" },
    duration: { type: "string", default: "10" },
    servers: { type: "string", default: "1" },
    workers: { type: "string", default: "1" },
    bots: { type: "string", default: "20" },
    warmup: { type: "string", default: "3" },
    "backend-ms": { type: "string", default: "0" },
  },
});
const rate = Number(values.rate);
const duration = Number(values.duration);
// Freshly started processes are still compiling their hot paths: the first seconds of load are
// sent and checked like the rest, but left out of the latency figures.
const warmup = Number(values.warmup);
const secretToken = "turn-secret";
// Telegram allows a bot about 30 messages a second, and the sender keeps to that: spread the
// conversations over several bots to measure this system rather than one bot's allowance.
const tokens = Array.from({ length: Number(values.bots) }, (_, i) => `${7770 + i}:turn-bench`);

const telegram = await startFakeTelegram();
for (const token of tokens) telegram.addBot(token);
// The business backend answers at once by default; `--backend-ms` makes it as slow as real order
// systems often are, so that a worker's concurrency (20 jobs at once), not CPU, bounds throughput.
const backendMs = Number(values["backend-ms"]);
const backend = createServer((req, res) => {
  req.resume();
  req.on("end", () =>
    setTimeout(
      () =>
        res
          .writeHead(200, { "content-type": "application/json" })
          .end('{"fulfillmentText":"Order 12345 has shipped."}'),
      backendMs,
    ),
  );
});
await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));

const database = await benchDatabase();
const keys = generateKey("bench");
const sealer = createSealer(parseKeyRing(keys));
const db = new pg.Client({ connectionString: database.url });
await db.connect();
const {
  rows: [tenant],
} = await db.query<{ id: string }>(`INSERT INTO "Tenant" (id, name) VALUES (gen_random_uuid(), 'Bench') RETURNING id`);
const accounts: string[] = [];
for (const botToken of tokens) {
  const {
    rows: [account],
  } = await db.query<{ id: string }>(
    `INSERT INTO "ChannelAccount" (id, "tenantId", channel, name, secrets) VALUES (gen_random_uuid(), $1, 'telegram', 'bot', $2) RETURNING id`,
    [tenant!.id, sealer.sealJson({ botToken, secretToken })],
  );
  accounts.push(account!.id);
}
const {
  rows: [endpoint],
} = await db.query<{ id: string }>(
  `INSERT INTO "FulfillmentEndpoint" (id, "tenantId", name, url) VALUES (gen_random_uuid(), $1, 'orders', $2) RETURNING id`,
  [tenant!.id, `http://127.0.0.1:${(backend.address() as AddressInfo).port}/`],
);
await db.query(
  `INSERT INTO "Intent" (id, "tenantId", name, examples, "fulfillmentEndpointId", responses, "updatedAt") VALUES (gen_random_uuid(), $1, 'order.status', $2, $3, '[]', now()), (gen_random_uuid(), $1, 'greeting', $4, NULL, $5, now())`,
  [
    tenant!.id,
    ["where is my order", "track my order", "has my parcel shipped", "order status please"],
    endpoint!.id,
    ["hi", "hello", "good morning"],
    JSON.stringify([{ type: "text", text: "Hello!" }]),
  ],
);

const env = {
  DATABASE_URL: database.url,
  SECRETS_KEYS: keys,
  TELEGRAM_API_ROOT: telegram.url,
  EGRESS_ALLOW: "127.0.0.1",
  EGRESS_ALLOW_HTTP: "true",
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  PORT: "0",
  WORKER_CONCURRENCY: "20",
};
const servers = await Promise.all(
  Array.from({ length: Number(values.servers) }, () =>
    startProcess(new URL("./ingest-server.ts", import.meta.url).pathname, ["ingest"], env),
  ),
);
const workers = Array.from({ length: Number(values.workers) }, () =>
  spawnRole(new URL("../../worker/src/main.ts", import.meta.url).pathname, [], env, "ignore"),
);
// Warm up: the model trains on the first message; workers open their runtime.
const warm = await fetch(`${servers[0]!.url}/webhooks/telegram/${accounts[0]}`, {
  method: "POST",
  headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secretToken },
  body: JSON.stringify({
    update_id: 1,
    message: {
      message_id: 1,
      date: 1,
      chat: { id: 1, type: "private" },
      from: { id: 1, is_bot: false, first_name: "W" },
      text: "hi",
    },
  }),
});
if (!warm.ok) throw new Error(`warm-up: ${warm.status}`);
await telegram.waitFor((c) => c.method === "sendMessage" && String(c.params.chat_id) === "1", 120_000);

// CPU each role uses while the turns run: a figure that holds across machines of different speed,
// where latency at a given rate does not. PostgreSQL's share is its backends serving this
// database, when they run on this machine.
async function cpuNow(): Promise<Record<"server" | "worker" | "postgres" | "harness", Map<number, number | null>>> {
  const { rows } = await db.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  const of = (pids: number[]) => new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
  const { user, system } = process.cpuUsage();
  return {
    server: of(servers.map((s) => s.child.pid!)),
    worker: of(workers.map((w) => w.pid!)),
    postgres: of(rows.map((r) => r.pid)),
    harness: new Map([[process.pid, (user + system) / 1e6]]),
  };
}
const cpuAtStart = await cpuNow();

// The load generator shares the machine with what it measures, so it posts through node:http,
// which costs a fraction of fetch's CPU a request. A failed post ends the run: it would count as lost.
const agent = new Agent({ keepAlive: true });
function post(url: string, body: string): void {
  request(
    url,
    {
      method: "POST",
      agent,
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "x-telegram-bot-api-secret-token": secretToken,
      },
    },
    (res) => res.resume(),
  )
    .on("error", (err) => {
      console.error(`posting an update failed: ${err.message}`);
      process.exit(1);
    })
    .end(body);
}

const sentAt = new Map<number, number>();
const total = rate * (warmup + duration);
const measuredFrom = rate * warmup;
const started = performance.now();
for (let i = 0; i < total; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const chat = 10_000 + i; // every message a new conversation, as in a burst of customers
  const server = servers[i % servers.length]!;
  sentAt.set(chat, performance.timeOrigin + performance.now());
  post(
    `${server.url}/webhooks/telegram/${accounts[i % accounts.length]}`,
    JSON.stringify({
      update_id: 100 + i,
      message: {
        message_id: i,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chat, type: "private" },
        from: { id: chat, is_bot: false, first_name: "Load" },
        text: "where is my order",
      },
    }),
  );
}
const deadline = Date.now() + 120_000;
const replies = () => telegram.calls.filter((c) => c.method === "sendMessage" && Number(c.params.chat_id) >= 10_000);
while (replies().length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
const cpuAtEnd = await cpuNow();
/** Milliseconds of CPU a turn, per role (a backend opened during the run counts from zero); null when not readable here. */
const cpuMsPerTurn = Object.fromEntries(
  (Object.keys(cpuAtEnd) as (keyof typeof cpuAtEnd)[]).map((role) => {
    const used = [...cpuAtEnd[role]].map(([pid, end]) =>
      end === null ? null : end - (cpuAtStart[role].get(pid) ?? 0),
    );
    return [
      role,
      used.includes(null)
        ? null
        : Math.round(((used as number[]).reduce((a, b) => a + b, 0) * 1000 * 100) / total) / 100,
    ];
  }),
);
await new Promise((r) => setTimeout(r, 1000)); // any duplicate would show up now
const got = replies();
const perChat = new Map<number, number>();
for (const c of got) perChat.set(Number(c.params.chat_id), (perChat.get(Number(c.params.chat_id)) ?? 0) + 1);
const firstReply = new Map<number, number>();
for (const c of got) if (!firstReply.has(Number(c.params.chat_id))) firstReply.set(Number(c.params.chat_id), c.at);
const latencies = [...firstReply]
  .filter(([chat]) => chat >= 10_000 + measuredFrom)
  .map(([chat, at]) => at - sentAt.get(chat)!)
  .sort((a, b) => a - b);
const pct = (p: number) =>
  Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 10) / 10;
const rss = servers.map((s) => peakRssMb(s.child.pid!));
const workerRss = workers.map((w) => peakRssMb(w.pid!));

for (const s of servers) await stop(s.child);
for (const w of workers) await stop(w);
await db.end();
await database.drop();
await telegram.close();
backend.close();
agent.destroy();

const figures = {
  rate,
  durationS: duration,
  warmupS: warmup,
  servers: servers.length,
  bots: tokens.length,
  backendMs,
  workers: workers.length,
  updates: total,
  answered: perChat.size,
  duplicates: got.length - perChat.size,
  lost: total - perChat.size,
  throughput: Math.round(
    perChat.size / ((Math.max(...got.map((c) => c.at)) - (performance.timeOrigin + started)) / 1000),
  ),
  measured: latencies.length,
  p50Ms: pct(0.5),
  p99Ms: pct(0.99),
  cpuMsPerTurn,
  serverRssMb: rss,
  workerRssMb: workerRss,
};
console.log(JSON.stringify(figures));
console.log(
  `turns: ${figures.answered}/${total} answered (${warmup} s of warm-up left out of the latencies) at ${rate}/s offered (${figures.throughput}/s achieved) by ${figures.servers} server(s) and ${figures.workers} worker(s); webhook → reply p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms; ${figures.duplicates} duplicated, ${figures.lost} lost`,
);
console.log(
  `CPU a turn: worker ${cpuMsPerTurn.worker} ms, PostgreSQL ${cpuMsPerTurn.postgres} ms, server ${cpuMsPerTurn.server} ms, load generator and fakes ${cpuMsPerTurn.harness} ms`,
);
if (figures.duplicates || figures.lost) process.exit(1);
