// `npm run bench:turn [-- --rate 200 --duration 10 --servers 1 --workers 1 --backend-ms 0 --modes off,metrics,tracing --rounds 2]`:
// turn latency at a steady rate of conversations. Telegram updates are posted to server processes;
// worker processes answer them (NLU, a fulfillment backend that answers at once or after
// `--backend-ms`, the reply to a local Bot API stand-in). Measures webhook-in → reply-accepted, checks that every update got exactly one reply,
// and prints one JSON line and a summary. `--servers 2 --workers 2` is the scale-out run.
// The cost of observability, in the same run: each mode runs with fresh role processes, the modes
// in turn, `--rounds` times (so that the machine's load drifts over all of them alike): `off` (no
// scrapes, no tracing), `metrics` (both roles' /metrics scraped every second, 15 times Prometheus'
// default rate), `tracing` (as `metrics`, and every span exported over OTLP/HTTP to a local sink).
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import pg from "pg";
import { startFakeTelegram } from "@cb/fake-telegram";
import { startOtlpSink } from "@cb/observability/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { benchDatabase } from "./database.ts";
import { freePort, metricsRecordingCost, scrapeEvery } from "./observability.ts";
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
    modes: { type: "string", default: "off,metrics,tracing" },
    rounds: { type: "string", default: "2" },
  },
});
type Mode = "off" | "metrics" | "tracing";
const modes = values.modes.split(",") as Mode[];
for (const mode of modes) if (!["off", "metrics", "tracing"].includes(mode)) throw new Error(`unknown mode ${mode}`);
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

const baseEnv = {
  DATABASE_URL: database.url,
  SECRETS_KEYS: keys,
  TELEGRAM_API_ROOT: telegram.url,
  EGRESS_ALLOW: "127.0.0.1",
  EGRESS_ALLOW_HTTP: "true",
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  PORT: "0",
  WORKER_CONCURRENCY: "20",
};
// Where the tracing mode's spans go: counted, not kept.
const sink = await startOtlpSink({ keep: false });
const total = rate * (warmup + duration);
const measuredFrom = rate * warmup;
const agent = new Agent({ keepAlive: true });
let phases = 0;

/** One run of the load on fresh role processes, observed as `mode` says. */
async function phase(mode: Mode) {
  // Each phase's conversations (and update ids, unique per bot) are its own.
  const base = 10_000 + phases++ * 1_000_000;
  const tracing = mode === "tracing" ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : {};
  const healthPorts = await Promise.all(Array.from({ length: Number(values.workers) }, () => freePort()));
  const servers = await Promise.all(
    Array.from({ length: Number(values.servers) }, () =>
      startProcess(new URL("./ingest-server.ts", import.meta.url).pathname, ["ingest"], { ...baseEnv, ...tracing }),
    ),
  );
  const workers = healthPorts.map((port) =>
    spawnRole(
      new URL("../../worker/src/main.ts", import.meta.url).pathname,
      [],
      { ...baseEnv, ...tracing, WORKER_HEALTH_PORT: String(port) },
      "ignore",
    ),
  );
  // Warm up: the model trains on the first message; workers open their runtime.
  const warm = await fetch(`${servers[0]!.url}/webhooks/telegram/${accounts[0]}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secretToken },
    body: JSON.stringify({
      update_id: base,
      message: {
        message_id: 1,
        date: 1,
        chat: { id: base, type: "private" },
        from: { id: base, is_bot: false, first_name: "W" },
        text: "hi",
      },
    }),
  });
  if (!warm.ok) throw new Error(`warm-up: ${warm.status}`);
  await telegram.waitFor((c) => c.method === "sendMessage" && String(c.params.chat_id) === String(base), 120_000);

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
  const scraping =
    mode === "off"
      ? undefined
      : scrapeEvery(1000, [
          ...servers.map((s) => `${s.url}/metrics`),
          ...healthPorts.map((port) => `http://127.0.0.1:${port}/metrics`),
        ]);
  const spansAtStart = sink.totals.spans;
  const cpuAtStart = await cpuNow();

  // The load generator shares the machine with what it measures, so it posts through node:http,
  // which costs a fraction of fetch's CPU a request. A failed post ends the run: it would count as lost.
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
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const chat = base + 1 + i; // every message a new conversation, as in a burst of customers
    const server = servers[i % servers.length]!;
    sentAt.set(chat, performance.timeOrigin + performance.now());
    post(
      `${server.url}/webhooks/telegram/${accounts[i % accounts.length]}`,
      JSON.stringify({
        update_id: chat,
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
  const replies = () =>
    telegram.calls.filter(
      (c) => c.method === "sendMessage" && Number(c.params.chat_id) > base && Number(c.params.chat_id) <= base + total,
    );
  while (replies().length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const cpuAtEnd = await cpuNow();
  const scrapes = await scraping?.stop();
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
  ) as Record<"server" | "worker" | "postgres" | "harness", number | null>;
  await new Promise((r) => setTimeout(r, 1000)); // any duplicate would show up now
  const got = replies();
  const perChat = new Map<number, number>();
  for (const c of got) perChat.set(Number(c.params.chat_id), (perChat.get(Number(c.params.chat_id)) ?? 0) + 1);
  const firstReply = new Map<number, number>();
  for (const c of got) if (!firstReply.has(Number(c.params.chat_id))) firstReply.set(Number(c.params.chat_id), c.at);
  const latencies = [...firstReply]
    .filter(([chat]) => chat > base + measuredFrom)
    .map(([chat, at]) => at - sentAt.get(chat)!)
    .sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 10) / 10;
  const rss = servers.map((s) => peakRssMb(s.child.pid!));
  const workerRss = workers.map((w) => peakRssMb(w.pid!));
  for (const s of servers) await stop(s.child);
  for (const w of workers) await stop(w);
  return {
    mode,
    servers,
    workers,
    got,
    perChat,
    started,
    latencies,
    pct,
    cpuMsPerTurn,
    rss,
    workerRss,
    scrapes: scrapes ?? 0,
    spansPerTurn: Math.round(((sink.totals.spans - spansAtStart) / total) * 10) / 10,
  };
}

const results: Awaited<ReturnType<typeof phase>>[] = [];
for (let round = 0; round < Number(values.rounds); round++) for (const mode of modes) results.push(await phase(mode));

await db.end();
await database.drop();
await telegram.close();
await sink.close();
backend.close();
agent.destroy();

// The latency and reply figures are the first phase's (`off` by default), as before the modes.
const { servers, workers, got, perChat, started, latencies, pct, cpuMsPerTurn, rss, workerRss } = results[0]!;
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
/** Server and worker CPU a turn (what observability adds to), per mode: the median over rounds. */
const rolesMs = (mode: Mode) =>
  Math.round(
    median(
      results.filter((r) => r.mode === mode).map((r) => (r.cpuMsPerTurn.server ?? 0) + (r.cpuMsPerTurn.worker ?? 0)),
    ) * 100,
  ) / 100;
const recordingUs = metricsRecordingCost();
const offMs = modes.includes("off") ? rolesMs("off") : undefined;
const overheadPct = (mode: Mode) =>
  offMs && modes.includes(mode) ? Math.round(((rolesMs(mode) - offMs) / offMs) * 1000) / 10 : null;
const observability = {
  rounds: Number(values.rounds),
  phases: results.map((r) => ({
    mode: r.mode,
    cpuMsPerTurn: r.cpuMsPerTurn,
    p50Ms: r.pct(0.5),
    p99Ms: r.pct(0.99),
    lost: total - r.perChat.size,
    duplicates: r.got.length - r.perChat.size,
    scrapes: r.scrapes,
    spansPerTurn: r.spansPerTurn,
  })),
  rolesCpuMsPerTurn: Object.fromEntries(modes.map((m) => [m, rolesMs(m)])),
  overheadPct: { metrics: overheadPct("metrics"), tracing: overheadPct("tracing") },
  // What recording a turn's metrics costs (no scrape), measured in this process: part of every mode.
  metricsRecordingUsPerTurn: recordingUs,
  metricsRecordingPct: offMs ? Math.round((recordingUs / 1000 / offMs) * 10_000) / 100 : null,
};
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
  observability,
};
console.log(JSON.stringify(figures));
console.log(
  `turns: ${figures.answered}/${total} answered (${warmup} s of warm-up left out of the latencies) at ${rate}/s offered (${figures.throughput}/s achieved) by ${figures.servers} server(s) and ${figures.workers} worker(s); webhook → reply p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms; ${figures.duplicates} duplicated, ${figures.lost} lost`,
);
console.log(
  `CPU a turn: worker ${cpuMsPerTurn.worker} ms, PostgreSQL ${cpuMsPerTurn.postgres} ms, server ${cpuMsPerTurn.server} ms, load generator and fakes ${cpuMsPerTurn.harness} ms`,
);
console.log(
  `observability: server+worker CPU a turn ${Object.entries(observability.rolesCpuMsPerTurn)
    .map(([m, ms]) => `${m} ${ms} ms`)
    .join(
      ", ",
    )} (median of ${observability.rounds} rounds); overhead metrics ${observability.overheadPct.metrics}%, tracing ${observability.overheadPct.tracing}%; recording a turn's metrics ${recordingUs} µs (${observability.metricsRecordingPct}%)`,
);
if (figures.duplicates || figures.lost || observability.phases.some((p) => p.lost || p.duplicates)) process.exit(1);
