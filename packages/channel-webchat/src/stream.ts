import { eventStreams, type EventStream, type LimitsStore, type LiveEvent, type LiveUpdates } from "@cb/core";
import type { FastifyReply } from "fastify";
import {
  botWorking,
  conversationOwner,
  findConversation,
  readMessage,
  readMessages,
  toWidget,
  type StoredMessage,
} from "./history.ts";

export interface StreamTarget {
  tenantId: string;
  accountId: string;
  externalId: string;
}

/**
 * The visitors' streams of one web process. Each listens to its tenant's live events (the web
 * role's one LISTEN connection, shared with the console's /v1/stream) and tells its visitor of
 * their conversation's messages as they are stored or sent, by any process; the events name ids
 * only, so each is read from the database. Streams whose visitor has not written yet have no
 * conversation to match: they learn it from the first inbound message stored for their tenant
 * whose conversation is theirs (one lookup per such message for the whole process).
 */
export function createStreams(pool: LimitsStore, live: LiveUpdates) {
  const streams = eventStreams(live);
  const owners = new Map<string, Promise<{ accountId: string; externalId: string } | undefined>>();

  const ownerOf = (conversationId: string) => {
    let owner = owners.get(conversationId);
    if (!owner) {
      owner = conversationOwner(pool, conversationId).catch(() => undefined);
      owners.set(conversationId, owner);
      // Only for the moment every waiting stream asks at once.
      void owner.finally(() => setTimeout(() => owners.delete(conversationId), 1000).unref());
    }
    return owner;
  };

  async function serve(reply: FastifyReply, target: StreamTarget, cursor: number | undefined): Promise<void> {
    let conversationId = await findConversation(pool, target.accountId, target.externalId);
    let lastCursor = cursor;
    const told = new Set<string>();
    let typing = false;

    // Opened below, once the handlers it calls are defined; nothing is written before.
    let stream: EventStream;
    const write = (chunk: string) => stream.write(chunk);
    const tell = (row: StoredMessage) => {
      const id = row.updatedAt.getTime();
      lastCursor = Math.max(lastCursor ?? 0, id);
      // A resync's replay overlaps what this connection already told; tell each message once.
      if (told.has(row.id)) return;
      told.add(row.id);
      const message = toWidget(row);
      if (message.content.length) write(`id: ${id}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`);
    };
    const setTyping = (on: boolean) => {
      if (on === typing) return;
      typing = on;
      write(`event: typing\ndata: ${JSON.stringify({ on })}\n\n`);
    };
    const catchUp = async () => {
      if (!conversationId) return;
      for (const row of await readMessages(pool, conversationId, lastCursor)) tell(row);
      setTyping(await botWorking(pool, conversationId));
    };
    const onEvent = async (event: LiveEvent) => {
      if (event.type === "conversation.updated") return;
      if (!conversationId) {
        if (event.type !== "message.created" || event.direction !== "in") return;
        const owner = await ownerOf(event.conversationId);
        if (owner?.accountId !== target.accountId || owner.externalId !== target.externalId) return;
        conversationId = event.conversationId;
      }
      if (event.conversationId !== conversationId) return;
      if (event.direction === "in") {
        if (event.type === "message.created") {
          const row = await readMessage(pool, conversationId, event.messageId);
          if (row) tell(row);
        }
        // The bot works while any message of the visitor's waits for its turn.
        setTyping(await botWorking(pool, conversationId));
        return;
      }
      // Only a sent reply is shown (readMessage's rule too): other states spare the read.
      if (event.status !== "sent") return;
      const row = await readMessage(pool, conversationId, event.messageId);
      if (row) tell(row);
    };

    // Events are handled one after another, in the order the database sent them: per-conversation
    // order holds. Those arriving during the catch-up wait behind it.
    let chain: Promise<void> = Promise.resolve();
    const enqueue = (work: () => Promise<void>) => {
      chain = chain.then(work).catch((err: unknown) => {
        reply.log.warn(
          { err },
          "web chat stream: reading a message failed; the visitor's next reconnection replays it",
        );
        stream.end();
      });
    };
    // The CORS header the widget's page needs, which the hijacked reply would not send.
    const cors = Object.fromEntries(
      ["access-control-allow-origin", "vary"].flatMap((h) => {
        const value = reply.getHeader(h);
        return value === undefined ? [] : [[h, String(value)]];
      }),
    );
    stream = streams.open(
      reply,
      target.tenantId,
      (signal) => enqueue(() => ("resync" in signal ? catchUp() : onEvent(signal.event))),
      cors,
    );
    enqueue(catchUp);
  }

  return {
    serve,
    /** A stream never finishes by itself: the server's close ends them (the widget reconnects elsewhere). */
    endAll: streams.endAll,
  };
}
