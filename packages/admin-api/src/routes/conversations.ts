import { channelNames } from "@cb/channels";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { findConversation, listConversations } from "../conversation-list.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import { withExchanges } from "../transcript.ts";
import { ConversationSummary, Mode, UuidParams, Message, messageView } from "../schemas.ts";

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
  channel: Type.Optional(
    Type.Union(
      channelNames.map((c) => Type.Literal(c)),
      { description: "only this channel's" },
    ),
  ),
  assignee: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "only those this operator has" })),
  q: Type.Optional(
    Type.String({
      minLength: 3,
      maxLength: 200,
      description: "search: part of the customer's name, username or id, or of any message's text (case ignored)",
    }),
  ),
});

/** Conversations and their messages, read-only. */
export const conversationRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  app.get(
    "/v1/conversations",
    {
      schema: {
        tags: ["conversations"],
        summary: "Conversations, newest activity first, with their channel, customer and last message",
        querystring: ConversationQuery,
        response: { 200: page(ConversationSummary) },
      },
    },
    async (request) => {
      requireScope(request, false);
      const { limit, cursor, ...filter } = request.query;
      return listConversations(db, { ...filter, tenantId: tenantOf(request) }, { limit, cursor });
    },
  );

  app.get(
    "/v1/conversations/:id",
    { schema: { tags: ["conversations"], params: UuidParams, response: { 200: ConversationSummary } } },
    async (request) => {
      requireScope(request, false);
      const found = await findConversation(db, tenantOf(request), request.params.id);
      if (!found) throw notFound("conversation");
      return found;
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
      return toPage(await withExchanges(db, tenantId, rows), request.query, messageView);
    },
  );
};
