// `npm run bench:flood [-- --rate 50 --quiet 5 --flood 10 --concurrency 64 --limit on|off]`: real
// requests' latency while a flood of forged webhooks arrives. A server process takes signed Telegram
// updates at a steady rate from 127.0.0.1; after a quiet phase, forgeries (a wrong secret token) come
// as fast as `--concurrency` connections allow from another address, 127.0.0.2. Prints one JSON line:
// the real requests' p50 / p99 in each phase, what the forgeries got, and whether the flood p50 stays
// within 3× the quiet p50 + 25 ms. `--limit off` runs the server without the forgery limit.
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import pg from "pg";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { benchDatabase } from "./database.ts";
import { startProcess, stop } from "./process.ts";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "50" },
    quiet: { type: "string", default: "5" },
    flood: { type: "string", default: "10" },
    concurrency: { type: "string", default: "64" },
    limit: { type: "string", default: "on" },
  },
});
const rate = Number(values.rate);
const secretToken = "flood-bench-secret";

const database = await benchDatabase();
const keys = generateKey("bench");
const db = new pg.Client({ connectionString: database.url });
await db.connect();
const {
  rows: [tenant],
} = await db.query<{ id: string }>(`INSERT INTO "Tenant" (id, name) VALUES (gen_random_uuid(), 'Bench') RETURNING id`);
const {
  rows: [account],
} = await db.query<{ id: string }>(
  `INSERT INTO "ChannelAccount" (id, "tenantId", channel, name, secrets) VALUES (gen_random_uuid(), $1, 'telegram', 'bot', $2) RETURNING id`,
  [tenant!.id, createSealer(parseKeyRing(keys)).sealJson({ botToken: "1:x", secretToken })],
);
const server = await startProcess(new URL("./ingest-server.ts", import.meta.url).pathname, ["ingest"], {
  DATABASE_URL: database.url,
  SECRETS_KEYS: keys,
  FORGERY_LIMIT: values.limit,
});
const target = `${server.url}/webhooks/telegram/${account!.id}`;

let updateId = 0;
function post(token: string, agent: Agent, localAddress: string): Promise<number> {
  const body = JSON.stringify({
    update_id: ++updateId,
    message: { message_id: updateId, date: 1700000000, chat: { id: updateId, type: "private" }, text: "hi" },
  });
  return new Promise((resolve, reject) =>
    request(
      target,
      {
        method: "POST",
        agent,
        localAddress,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-telegram-bot-api-secret-token": token,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    )
      .on("error", reject)
      .end(body),
  );
}

const real = new Agent({ keepAlive: true });
const samples: { at: number; ms: number; status: number }[] = [];
let sending = true;
async function realTraffic() {
  const started = performance.now();
  for (let i = 0; sending; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const at = performance.now();
    void post(secretToken, real, "127.0.0.1").then((status) =>
      samples.push({ at, ms: performance.now() - at, status }),
    );
  }
}

const forgeries = new Map<number, number>();
let flooding = false;
async function attacker(agent: Agent) {
  while (flooding) {
    const status = await post("forged-token", agent, "127.0.0.2").catch(() => 0);
    forgeries.set(status, (forgeries.get(status) ?? 0) + 1);
  }
}

const traffic = realTraffic();
await new Promise((r) => setTimeout(r, Number(values.quiet) * 1000));
const floodFrom = performance.now();
flooding = true;
const attackAgent = new Agent({ keepAlive: true, maxSockets: Number(values.concurrency) });
const attackers = Array.from({ length: Number(values.concurrency) }, () => attacker(attackAgent));
await new Promise((r) => setTimeout(r, Number(values.flood) * 1000));
flooding = false;
sending = false;
await Promise.all([...attackers, traffic]);
await new Promise((r) => setTimeout(r, 1000));

const pct = (list: number[], p: number) =>
  list.length
    ? Math.round([...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(p * list.length))]! * 10) / 10
    : null;
const quiet = samples.filter((s) => s.at < floodFrom).map((s) => s.ms);
const flood = samples.filter((s) => s.at >= floodFrom).map((s) => s.ms);
const figures = {
  limit: values.limit,
  rate,
  realRequests: samples.length,
  realFailed: samples.filter((s) => s.status !== 200).length,
  quietP50Ms: pct(quiet, 0.5),
  quietP99Ms: pct(quiet, 0.99),
  floodP50Ms: pct(flood, 0.5),
  floodP99Ms: pct(flood, 0.99),
  forgeries: [...forgeries.values()].reduce((a, b) => a + b, 0),
  forgeriesByStatus: Object.fromEntries(forgeries),
  targetMet: (pct(flood, 0.5) ?? Infinity) <= 3 * (pct(quiet, 0.5) ?? 0) + 25,
};
console.log(JSON.stringify(figures));
console.log(
  `real requests at ${rate}/s: p50 ${figures.quietP50Ms} ms quiet, ${figures.floodP50Ms} ms during ${figures.forgeries} forgeries (${JSON.stringify(figures.forgeriesByStatus)}); limit ${values.limit}; target ${figures.targetMet ? "met" : "missed"}`,
);
await stop(server.child);
real.destroy();
attackAgent.destroy();
await db.end();
await database.drop();
