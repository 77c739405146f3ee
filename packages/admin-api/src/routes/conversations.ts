import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import { Conversation, Mode, UuidParams, Message, conversationView, messageView } from "../schemas.ts";

const ConversationQuery = Type.Object({
  ...PageQuery.properties,
  channelAccountId: Type.Optional(Type.String({ format: "uuid", description: "only this channel account's" })),
  externalId: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: "only the platform's conversation of this id (a chat id)",
    }),
  ),
  mode: Type.Optional(Mode),
});

/** Conversations and their messages, read-only. */
export const conversationRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  app.get(
    "/v1/conversations",
    { schema: { tags: ["conversations"], querystring: ConversationQuery, response: { 200: page(Conversation) } } },
    async (request) => {
      requireScope(request, false);
      const args = pageArgs(request.query);
      const { channelAccountId, externalId, mode } = request.query;
      return toPage(
        await db.conversation.findMany({
          ...args,
          where: {
            ...args.where,
            tenantId: tenantOf(request),
            ...(channelAccountId ? { channelAccountId } : {}),
            ...(externalId ? { externalId } : {}),
            ...(mode ? { mode } : {}),
          },
        }),
        request.query,
        conversationView,
      );
    },
  );

  app.get(
    "/v1/conversations/:id",
    { schema: { tags: ["conversations"], params: UuidParams, response: { 200: Conversation } } },
    async (request) => {
      requireScope(request, false);
      const row = await db.conversation.findFirst({ where: { id: request.params.id, tenantId: tenantOf(request) } });
      if (!row) throw notFound("conversation");
      return conversationView(row);
    },
  );

  app.get(
    "/v1/conversations/:id/messages",
    {
      schema: { tags: ["conversations"], params: UuidParams, querystring: PageQuery, response: { 200: page(Message) } },
    },
    async (request) => {
      requireScope(request, false);
      const tenantId = tenantOf(request);
      if (!(await db.conversation.findFirst({ where: { id: request.params.id, tenantId }, select: { id: true } })))
        throw notFound("conversation");
      const args = pageArgs(request.query);
      const rows = await db.message.findMany({
        ...args,
        where: { ...args.where, tenantId, conversationId: request.params.id },
      });
      return toPage(rows, request.query, messageView);
    },
  );
};
