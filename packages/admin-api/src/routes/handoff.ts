import { randomUUID } from "node:crypto";
import { agentReplyRule, endHandoff, queueAgentMessage, requestHandoff } from "@cb/conversation";
import type { Reply } from "@cb/core";
import { HttpError } from "@cb/core";
import { prismaSql } from "@cb/db";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import {
  AgentMessageInput,
  Conversation,
  conversationView,
  HandoffRequest,
  Message,
  messageView,
  UuidParams,
} from "../schemas.ts";

/** Human handoff: operators take conversations over, answer as agents, and give them back to the bot. */
export const handoffRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  const view = async (tenantId: string, id: string) =>
    conversationView(await db.conversation.findFirstOrThrow({ where: { id, tenantId } }));

  app.post(
    "/v1/conversations/:id/handoff",
    {
      schema: {
        tags: ["conversations"],
        summary:
          "Hand the conversation to an agent: waiting for one (pending), or assigned to `assignee` (human); in a handoff already, assigns it",
        params: UuidParams,
        body: HandoffRequest,
        response: { 200: Conversation },
      },
    },
    async (request) => {
      requireScope(request, "agent");
      const tenantId = tenantOf(request);
      // An operator taking over without naming anyone takes it themselves.
      const assignee = request.body.assignee ?? request.principal?.operator?.email;
      const state = await db.$transaction((tx) =>
        requestHandoff(prismaSql(tx), {
          conversationId: request.params.id,
          tenantId,
          reason: "operator",
          ...(assignee ? { assignee } : {}),
        }),
      );
      if (!state) throw notFound("conversation");
      return view(tenantId, request.params.id);
    },
  );

  app.post(
    "/v1/conversations/:id/handoff/end",
    {
      schema: {
        tags: ["conversations"],
        summary: "Give the conversation back to the bot (a no-op when the bot has it)",
        params: UuidParams,
        response: { 200: Conversation },
      },
    },
    async (request) => {
      requireScope(request, "agent");
      const tenantId = tenantOf(request);
      const state = await db.$transaction((tx) =>
        endHandoff(prismaSql(tx), { conversationId: request.params.id, tenantId, reason: "agent" }),
      );
      if (!state) throw notFound("conversation");
      return view(tenantId, request.params.id);
    },
  );

  app.post(
    "/v1/conversations/:id/messages",
    {
      schema: {
        tags: ["conversations"],
        summary:
          "Send an agent's reply (the conversation must be in a handoff); queued and sent as the bot's replies are, under the platform's rules",
        params: UuidParams,
        body: AgentMessageInput,
        response: { 202: Message },
      },
    },
    async (request, reply) => {
      requireScope(request, "agent");
      const tenantId = tenantOf(request);
      const conversation = await db.conversation.findFirst({
        where: { id: request.params.id, tenantId },
        include: { channelAccount: { select: { channel: true } } },
      });
      if (!conversation) throw notFound("conversation");
      if (conversation.mode === "bot")
        throw new HttpError(
          409,
          "not_in_handoff",
          "the bot has this conversation: take it over first (POST /v1/conversations/{id}/handoff)",
        );
      const body = request.body.reply as Reply;
      const rule = agentReplyRule(conversation.channelAccount.channel, conversation.lastInboundAt, body, new Date());
      if (!rule.ok) throw new HttpError(409, "platform_rule", rule.reason);
      const id = await db.$transaction((tx) =>
        queueAgentMessage(prismaSql(tx), {
          tenantId,
          channelAccountId: conversation.channelAccountId,
          conversationId: conversation.id,
          key: request.body.idempotencyKey ?? randomUUID(),
          reply: body,
        }),
      );
      return reply.code(202).send(messageView(await db.message.findUniqueOrThrow({ where: { id } })));
    },
  );
};
