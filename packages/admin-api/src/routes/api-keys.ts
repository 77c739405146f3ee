import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { KEY_ID, newKey, type Scope } from "../keys.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import { ApiKey, ApiKeyCreated, ApiKeyInput, IdParams, apiKeyView } from "../schemas.ts";

export const apiKeyRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  const create = async (tenantId: string, name: string, scopes: Scope[]) => {
    const key = newKey();
    await db.apiKey.create({
      data: { id: key.id, tenantId, name, scopes, secretHash: key.hash, hint: key.secret.slice(-4) },
    });
    return { id: key.id, name, scopes, key: key.key };
  };

  app.get(
    "/v1/api-keys",
    {
      schema: {
        tags: ["api keys"],
        summary: "List keys (never their secrets)",
        querystring: PageQuery,
        response: { 200: page(ApiKey) },
      },
    },
    async (request) => {
      requireScope(request, true);
      const args = pageArgs(request.query, KEY_ID);
      const rows = await db.apiKey.findMany({ ...args, where: { ...args.where, tenantId: tenantOf(request) } });
      return toPage(rows, request.query, apiKeyView);
    },
  );

  app.post(
    "/v1/api-keys",
    {
      schema: {
        tags: ["api keys"],
        summary: "Issue a key; the key is shown only in this response",
        body: ApiKeyInput,
        response: { 201: ApiKeyCreated },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      return reply.code(201).send(await create(tenantOf(request), request.body.name, request.body.scopes));
    },
  );

  app.post(
    "/v1/api-keys/:id/rotate",
    {
      schema: {
        tags: ["api keys"],
        summary: "Replace a key with a new one of the same name and scopes; the old one stops working",
        params: IdParams,
        response: { 201: ApiKeyCreated },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      const tenantId = tenantOf(request);
      const old = await db.apiKey.findFirst({ where: { id: request.params.id, tenantId, revokedAt: null } });
      if (!old) throw notFound("API key");
      await db.apiKey.update({ where: { id: old.id }, data: { revokedAt: new Date() } });
      return reply.code(201).send(await create(tenantId, old.name, old.scopes as Scope[]));
    },
  );

  app.delete(
    "/v1/api-keys/:id",
    { schema: { tags: ["api keys"], summary: "Revoke a key", params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      requireScope(request, true);
      const { count } = await db.apiKey.updateMany({
        where: { id: request.params.id, tenantId: tenantOf(request), revokedAt: null },
        data: { revokedAt: new Date() },
      });
      if (!count) throw notFound("API key");
      return reply.code(204).send(null);
    },
  );
};
