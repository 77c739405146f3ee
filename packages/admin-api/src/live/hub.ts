import type { LiveEvent, LiveSignal, LiveUpdates } from "@cb/core";
import type { Logger } from "@cb/logging";
import pRetry from "p-retry";
import pg from "pg";

/** The channel the database triggers notify on (migration 20261207020000_live_updates). */
export const LIVE_CHANNEL = "cb_live";

export type { LiveEvent, LiveSignal } from "@cb/core";

export interface LiveHub extends LiveUpdates {
  /** Resolves once the listening connection is up (the first time). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface LiveHubOptions {
  connectionString: string;
  logger?: Logger | undefined;
  /** Default 15 s. */
  pingMs?: number;
  /** Reconnection backoff bounds, ms (default 100 ms doubling to 5 s). */
  minRetryMs?: number;
  maxRetryMs?: number;
}

const isLiveEvent = (value: unknown): value is LiveEvent =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as LiveEvent).tenantId === "string" &&
  typeof (value as LiveEvent).conversationId === "string" &&
  ["message.created", "message.updated", "conversation.updated"].includes((value as LiveEvent).type);

/**
 * One dedicated LISTEN connection per process, fanning the database's notifications out to the
 * open streams of each tenant. Any web process sees every tenant's events, so any process can serve
 * any operator. When the connection drops (a database restart, a terminated backend) it reconnects
 * with backoff and tells every stream to resync, since notifications sent meanwhile are lost.
 */
export function createLiveHub(options: LiveHubOptions): LiveHub {
  const streams = new Map<string, Set<(signal: LiveSignal) => void>>();
  const closing = new AbortController();
  let client: pg.Client | undefined;
  let connectedOnce = false;

  const broadcast = (signal: LiveSignal, tenantId?: string) => {
    const targets = tenantId ? [streams.get(tenantId) ?? []] : streams.values();
    for (const set of targets) for (const listener of set) listener(signal);
  };

  const connect = async () => {
    const next = new pg.Client({ connectionString: options.connectionString, keepAlive: true });
    // Once listening, a dropped connection emits "error" and "end": both lead here, once. Before
    // that, a failure rejects this attempt and p-retry makes the next.
    let live = false;
    const onLost = (err?: Error) => {
      if (!live || closing.signal.aborted) return;
      live = false;
      client = undefined;
      options.logger?.warn({ err: err?.message }, "live updates: listening connection lost; reconnecting");
      void listen();
    };
    next.on("error", onLost);
    next.on("end", () => onLost());
    next.on("notification", (message) => {
      if (message.channel !== LIVE_CHANNEL || !message.payload) return;
      let event: unknown;
      try {
        event = JSON.parse(message.payload);
      } catch {
        return;
      }
      if (isLiveEvent(event)) broadcast({ event }, event.tenantId);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${LIVE_CHANNEL}`);
    } catch (err) {
      await next.end().catch(() => {});
      throw err;
    }
    if (closing.signal.aborted) {
      await next.end().catch(() => {});
      return;
    }
    client = next;
    live = true;
    if (connectedOnce) broadcast({ resync: true });
    connectedOnce = true;
  };

  const listen = () =>
    pRetry(connect, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: options.minRetryMs ?? 100,
      maxTimeout: options.maxRetryMs ?? 5000,
      signal: closing.signal,
      onFailedAttempt: ({ error, attemptNumber }) =>
        options.logger?.warn({ err: error.message, attempt: attemptNumber }, "live updates: cannot listen yet"),
    }).catch(() => {}); // only aborted by close

  const ready = listen();

  return {
    pingMs: options.pingMs ?? 15_000,
    ready,
    subscribe(tenantId, listener) {
      const set = streams.get(tenantId) ?? new Set();
      streams.set(tenantId, set);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (!set.size) streams.delete(tenantId);
      };
    },
    async close() {
      closing.abort();
      const open = client;
      client = undefined;
      await open?.end().catch(() => {});
    },
  };
}
