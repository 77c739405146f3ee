import type { ChannelAccount, InboundEvent } from "@cb/core";
import { createPool } from "@cb/db";
import { defaultLogger, type Logger } from "@cb/logging";
import { currentTraceparent, ingestDuration, observePool } from "@cb/observability";
import { storeEvents, storeInInbox, wakeExpansion, type InboundGroup } from "./expand.ts";

export interface Ingestor {
  /**
   * Stores verified inbound events and enqueues their processing; resolves once committed, and
   * only then may the webhook be acknowledged. Rejects when they could not be stored.
   */
  ingest(account: ChannelAccount, events: InboundEvent[]): Promise<void>;
  /** Resolves once every event accepted so far is stored and, if it went to the inbox, its expansion is enqueued. */
  settled(): Promise<void>;
  /** Counters for benchmarks and metrics: transactions written (inbox appends among them), requests in them, time spent. */
  stats(): { transactions: number; inboxAppends: number; requests: number; writeMs: number };
  close(): Promise<void>;
}

interface Pending {
  group: InboundGroup;
  /** When it was handed over (performance.now()), for the ingest latency metric. */
  since: number;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Durable ingest with group commit: requests arriving while earlier writes are in flight share
 * one write, which multiplies throughput under load, while each request still gets its own answer.
 *
 * Under light load a write stores its events as they will stay: conversations, messages and one
 * job per message, in one statement (expand.ts). Under heavy load a write appends them to the
 * inbox instead, one InboundBatch row, with no per-message index to update and no job
 * notification (PostgreSQL serializes the commits of transactions that NOTIFY, which capped
 * ingest at a few thousand messages a second), and the worker's expand-inbound job turns rows into
 * the same messages and jobs, in order, at the pace the database allows. Acknowledgements stay
 * fast through a peak, and what arrived is never in doubt: it is committed either way. Messages
 * that arrive while the inbox still holds rows go to the inbox too, behind them, whatever the load.
 */
export interface IngestorOptions {
  connectionString: string;
  /** Writes in flight at once (2). */
  concurrency?: number;
  /** Requests per write at most (500). */
  maxBatch?: number;
  /**
   * Requests per write, on average over the last ten or so, above which writes go to the inbox
   * (4). Group commit's batch size is the load signal: about one request a write at hundreds a
   * second, ten and more near the limit of the machine.
   */
  inboxAbove?: number;
  logger?: Logger;
}

export function createIngestor(options: IngestorOptions): Ingestor {
  // Writes in flight at once. While they run, new requests gather into the next batch: the busier
  // the database, the larger (and cheaper per request) the batches, with no timer to tune.
  const concurrency = options.concurrency ?? 2;
  // A write in flight on a connection the server dropped (restart, failover) fails and is answered
  // as failed; createPool replaces idle ones. One more connection is the wake-up's.
  const logger = options.logger ?? defaultLogger();
  const pool = createPool(options.connectionString, { max: concurrency + 1, logger });
  observePool("ingest", pool);
  const maxBatch = options.maxBatch ?? 500;
  const inboxAbove = options.inboxAbove ?? 4;
  const queue: Pending[] = [];
  let running = 0;
  let scheduled = false;
  let batchSize = 0; // requests per write, averaged over the last ten or so
  const idle = new Set<() => void>();
  const counters = { transactions: 0, inboxAppends: 0, requests: 0, writeMs: 0 };

  let waking: Promise<void> | undefined;
  let wakeAgain = false;
  // At most one wake-up in flight; rows committed meanwhile get one more after it (the job it
  // found waiting may have started before they committed).
  function wake(): void {
    if (waking) {
      wakeAgain = true;
      return;
    }
    waking = wakeExpansion(pool)
      .catch((err: Error) => logger.error({ err }, "could not enqueue the inbox's expansion; the worker's sweep will"))
      .finally(() => {
        waking = undefined;
        if (wakeAgain) {
          wakeAgain = false;
          wake();
        }
      });
  }

  async function write(batch: Pending[]): Promise<"direct" | "inbox"> {
    const started = performance.now();
    batchSize += (batch.length - batchSize) / 8;
    const groups = batch.map((p) => p.group);
    const messages = groups.some((g) => g.events.some((e) => e.type === "message"));
    // Messages queue behind the inbox's, even when written by another server process: what arrives
    // after a message was acknowledged is stored after it, and answered after it.
    const busy = batchSize > inboxAbove;
    if ((busy || messages) && (await storeInInbox(pool, groups, busy))) {
      counters.inboxAppends++;
      wake();
      return done("inbox");
    }
    await storeEvents(pool, groups);
    return done("direct");

    function done(store: "direct" | "inbox") {
      const now = performance.now();
      counters.transactions++;
      counters.requests += batch.length;
      counters.writeMs += now - started;
      for (const p of batch) ingestDuration.observe({ store }, (now - p.since) / 1000);
      return store;
    }
  }

  // If a shared write fails, its requests are written again one by one, so one bad request never
  // fails the others, and no request is acknowledged unless its own write committed.
  async function flush(batch: Pending[]): Promise<void> {
    try {
      await write(batch);
      for (const p of batch) p.resolve();
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      await Promise.all(batch.map((p) => write([p]).then(p.resolve, p.reject)));
    }
  }

  function drain(): void {
    scheduled = false;
    while (queue.length && running < concurrency) {
      const batch = queue.splice(0, maxBatch);
      running++;
      void flush(batch).finally(() => {
        running--;
        if (queue.length) drain();
        else if (running === 0) {
          for (const done of idle) done();
          idle.clear();
        }
      });
    }
  }

  async function settled(): Promise<void> {
    for (;;) {
      if (queue.length || running) await new Promise<void>((resolve) => idle.add(resolve));
      else if (waking) await waking;
      else return;
    }
  }

  return {
    ingest(account, events) {
      if (!events.length) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const traceparent = currentTraceparent();
        queue.push({
          group: { accountId: account.id, tenantId: account.tenantId, events, ...(traceparent ? { traceparent } : {}) },
          since: performance.now(),
          resolve,
          reject,
        });
        // Requests parsed in the same turn of the event loop join one batch.
        if (!scheduled && running < concurrency) {
          scheduled = true;
          setImmediate(drain);
        }
      });
    },
    settled,
    stats: () => ({ ...counters }),
    async close() {
      await settled();
      await pool.end();
    },
  };
}
