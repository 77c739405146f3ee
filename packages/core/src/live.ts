import type { FastifyReply } from "fastify";

/** What the database's triggers tell of a tenant's conversations (LISTEN/NOTIFY): ids and states, never text. */
export type LiveEvent =
  | {
      type: "message.created" | "message.updated";
      tenantId: string;
      conversationId: string;
      messageId: string;
      direction: "in" | "out";
      status: string;
    }
  | { type: "conversation.updated"; tenantId: string; conversationId: string; mode: string };

/** What a listener is told: an event, or that events may have been missed (the listener reconnected). */
export type LiveSignal = { event: LiveEvent } | { resync: true };

/** Every process's live events, per tenant (the web role's hub in @cb/admin-api). */
export interface LiveUpdates {
  /** Listens for one tenant's events until the returned function is called. */
  subscribe(tenantId: string, listener: (signal: LiveSignal) => void): () => void;
  /** How often open streams send a keep-alive comment. */
  readonly pingMs: number;
}

/** One open stream: writes while its client is there; `end` closes it (once). */
export interface EventStream {
  write(chunk: string): void;
  end(): void;
}

/**
 * Server-sent event streams of a tenant's live updates, on hijacked Fastify replies: the headers,
 * a `: connected` comment, the keep-alive ping, and one ending whether the client leaves or the
 * server closes (`endAll`: a stream never finishes by itself, and would hold the close forever).
 */
export function eventStreams(live: LiveUpdates) {
  const open = new Set<() => void>();
  return {
    /** `headers` adds to the stream's own (reply.hijack() skips fastify's hooks, CORS among them). */
    open(
      reply: FastifyReply,
      tenantId: string,
      onSignal: (signal: LiveSignal, stream: EventStream) => void,
      headers: Record<string, string> = {},
    ): EventStream {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        // Proxies such as nginx would otherwise hold events back in their buffers.
        "x-accel-buffering": "no",
        ...headers,
      });
      const stream: EventStream = {
        write: (chunk) => {
          if (!res.writableEnded) res.write(chunk);
        },
        end: () => {
          if (!open.delete(stream.end)) return;
          clearInterval(ping);
          unsubscribe();
          res.end();
        },
      };
      stream.write(": connected\n\n");
      const unsubscribe = live.subscribe(tenantId, (signal) => onSignal(signal, stream));
      const ping = setInterval(() => stream.write(": ping\n\n"), live.pingMs);
      open.add(stream.end);
      res.on("close", stream.end);
      return stream;
    },
    endAll(): void {
      for (const end of open) end();
    },
  };
}
