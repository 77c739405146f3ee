import { eventStreams } from "@cb/core";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { requireScope, tenantOf } from "../context.ts";
import type { LiveHub, LiveSignal } from "../live/hub.ts";

const DESCRIPTION = `Server-sent events for the caller's tenant, as they happen in any process: \`message.created\`
and \`message.updated\` (data: conversationId, messageId, direction, status), \`conversation.updated\`
(data: conversationId, mode), and \`resync\` when events may have been missed (refetch what is shown).
Each event has an \`id:\`; a \`: ping\` comment comes every 15 s. Events carry ids, never text: fetch the
conversation or its messages for what changed. Nothing is replayed on reconnection.`;

/** Writes a signal as one server-sent event. */
function format(signal: LiveSignal, id: number): string {
  if ("resync" in signal) return `id: ${id}\nevent: resync\ndata: {}\n\n`;
  const { type, tenantId: _tenant, ...data } = signal.event;
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** GET /v1/stream: the tenant's live updates (live/hub.ts), ended cleanly when the server closes. */
export const streamRoutes: FastifyPluginAsyncTypebox<{ live: LiveHub }> = async (app, { live }) => {
  const streams = eventStreams(live);
  // Without this the server's close would wait for every operator.
  app.addHook("preClose", async () => streams.endAll());

  app.get(
    "/v1/stream",
    {
      schema: {
        tags: ["live"],
        description: DESCRIPTION,
        response: {
          200: {
            description: "an endless text/event-stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
        },
      },
    },
    async (request, reply) => {
      requireScope(request, false);
      const tenantId = tenantOf(request);
      let sequence = 0;
      streams.open(reply, tenantId, (signal, stream) => stream.write(format(signal, ++sequence)));
    },
  );
};
