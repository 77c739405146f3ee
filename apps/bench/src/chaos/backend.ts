// The business's fulfillment backend for the chaos benchmark: a loopback HTTP server answering
// Dialogflow WebhookResponse JSON that echoes which message it answers ("ack <chat>:<k>"). It can
// answer late, hang on a share of calls (never answering: the caller's time budget must end it),
// and go down (connections refused) and come back on the same port.
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { ackText } from "./load.ts";

export interface BackendFaults {
  /** Milliseconds before each answer. */
  delayMs?: number;
  /** Share (0–1) of calls never answered. */
  hangShare?: number;
}

interface WebhookRequest {
  queryResult?: { queryText?: string };
  originalDetectIntentRequest?: { payload?: { data?: { message?: { chat?: { id?: number } } } } };
}

export async function startBackend() {
  let faults: BackendFaults = {};
  const sockets = new Set<Socket>();
  const stats = { calls: 0, hung: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      stats.calls++;
      if (Math.random() < (faults.hangShare ?? 0)) {
        stats.hung++;
        return;
      }
      let body: WebhookRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString()) as WebhookRequest;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const chat = body.originalDetectIntentRequest?.payload?.data?.message?.chat?.id;
      const seq = /#(\d+)/.exec(body.queryResult?.queryText ?? "")?.[1];
      // Without both, nothing to echo: an empty answer leaves the intent's own response standing.
      const answer = chat !== undefined && seq !== undefined ? { fulfillmentText: ackText(chat, Number(seq)) } : {};
      setTimeout(
        () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer)),
        faults.delayMs ?? 0,
      );
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}/`,
    stats,
    setFaults(next: BackendFaults) {
      faults = next;
    },
    /** Down: refuses connections and drops the open ones. */
    down() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
    /** Back up on the same port. */
    async up() {
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
}

export type Backend = Awaited<ReturnType<typeof startBackend>>;
