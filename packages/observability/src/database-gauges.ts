import type pg from "pg";
import { Gauge } from "prom-client";
import { registry } from "./metrics.ts";

const pools = new Map<string, pg.Pool>();

new Gauge({
  name: "cb_db_pool_connections",
  help: "Database pool connections by pool and state (total open, idle, and clients waiting for one).",
  labelNames: ["pool", "state"] as const,
  registers: [registry],
  collect() {
    for (const [name, pool] of pools) {
      this.set({ pool: name, state: "total" }, pool.totalCount);
      this.set({ pool: name, state: "idle" }, pool.idleCount);
      this.set({ pool: name, state: "waiting" }, pool.waitingCount);
    }
  },
});

/** Reports a pool's use under `name` (runtime, ingest) until the process exits. */
export function observePool(name: string, pool: pg.Pool): void {
  pools.set(name, pool);
}

// Jobs that can run now (due, attempts left), by task: waiting ones, running ones, and how long the
// oldest waiting one has been due. graphile-worker's own table, read rather than its view.
const JOBS = `
SELECT t.identifier AS task,
  count(*) FILTER (WHERE j.locked_at IS NULL)::int AS waiting,
  count(*) FILTER (WHERE j.locked_at IS NOT NULL)::int AS running,
  COALESCE(EXTRACT(EPOCH FROM now() - min(j.run_at) FILTER (WHERE j.locked_at IS NULL)), 0)::float8 AS oldest
FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
WHERE j.run_at <= now() AND j.attempts < j.max_attempts
GROUP BY t.identifier`;

const INBOX = `
SELECT count(*) FILTER (WHERE error IS NULL)::int AS waiting,
  count(*) FILTER (WHERE error IS NOT NULL)::int AS "setAside",
  COALESCE(EXTRACT(EPOCH FROM now() - min("receivedAt") FILTER (WHERE error IS NULL)), 0)::float8 AS oldest
FROM "InboundBatch"`;

interface Backlog {
  jobs: { task: string; waiting: number; running: number; oldest: number }[];
  inbox: { waiting: number; setAside: number; oldest: number };
}

export interface BacklogOptions {
  /** A scrape within this long of the last reuses its answer (5 s): many scrapers cost one query. */
  cacheMs?: number;
  /** The queries' time limit (2 s); a scrape past it reports the gauges as they were. */
  timeoutMs?: number;
}

/**
 * Job queue depth, the age of the oldest due job and the inbox backlog, read from the database when
 * Prometheus scrapes (cached briefly, under a time limit of their own). One role per deployment
 * reports them (the worker); every worker process reports the same figures, so dashboards take max().
 */
export function observeBacklog(pool: pg.Pool, options: BacklogOptions = {}): { read(): Promise<Backlog> } {
  const cacheMs = options.cacheMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  let last: { at: number; value: Promise<Backlog>; settled: boolean } | undefined;

  async function query(): Promise<Backlog> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
      const jobs = await client.query<Backlog["jobs"][number]>(JOBS);
      const inbox = await client.query<Backlog["inbox"]>(INBOX);
      await client.query("COMMIT");
      return { jobs: jobs.rows, inbox: inbox.rows[0]! };
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  // A read in flight is shared by every gauge of a scrape (and by concurrent scrapes), whatever the cache period.
  function read(): Promise<Backlog> {
    const now = performance.now();
    if (!last || (last.settled && now - last.at > cacheMs)) {
      const entry = { at: now, value: query(), settled: false };
      last = entry;
      entry.value.then(
        () => {
          entry.settled = true;
        },
        // A failed read is not cached: the next scrape tries again.
        () => {
          if (last === entry) last = undefined;
        },
      );
    }
    return last.value;
  }

  const depth = gauge(refresh, "cb_job_queue_depth", "Jobs due and waiting for a worker, by task.", ["task"]);
  const running = gauge(refresh, "cb_jobs_running", "Jobs locked by a worker (running), by task.", ["task"]);
  const age = gauge(refresh, "cb_job_queue_oldest_age_seconds", "How long the oldest due job has waited, by task.", [
    "task",
  ]);
  const inboxWaiting = gauge(
    refresh,
    "cb_inbox_backlog_batches",
    "Inbound batches stored in the inbox, waiting for expansion.",
  );
  const inboxAge = gauge(refresh, "cb_inbox_oldest_age_seconds", "How long the oldest inbox batch has waited.");
  const setAside = gauge(
    refresh,
    "cb_inbox_set_aside_batches",
    "Inbox batches set aside with an error (kept, not expanded).",
  );
  const failed = gauge(
    refresh,
    "cb_backlog_read_failed",
    "1 when the last read of the job queue and inbox failed (time limit, database away).",
  );

  // Prometheus collects the registry's metrics concurrently: each of these waits for the same read
  // (cached), then they all hold its figures.
  async function refresh(): Promise<void> {
    try {
      const { jobs, inbox } = await read();
      for (const g of [depth, running, age]) g.reset();
      for (const job of jobs) {
        depth.set({ task: job.task }, job.waiting);
        running.set({ task: job.task }, job.running);
        age.set({ task: job.task }, job.oldest);
      }
      inboxWaiting.set(inbox.waiting);
      inboxAge.set(inbox.oldest);
      setAside.set(inbox.setAside);
      failed.set(0);
    } catch {
      failed.set(1);
    }
  }
  return { read };
}

// Observing again (a test, a role restarted in one process) replaces the gauges.
function gauge(collect: () => Promise<void>, name: string, help: string, labelNames: string[] = []): Gauge {
  registry.removeSingleMetric(name);
  return new Gauge({ name, help, labelNames, registers: [registry], collect });
}
