import { HttpError } from "@cb/core";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type, type Static } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { unique } from "../errors.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import { EntityType, EntityTypeInput, UuidParams, entityTypeView } from "../schemas.ts";

function data(body: Static<typeof EntityTypeInput>) {
  if (body.kind === "pattern") {
    if (!body.pattern)
      throw new HttpError(400, "validation_failed", "a pattern entity type needs `pattern`", { field: "pattern" });
    try {
      new RegExp(body.pattern, "u");
    } catch (err) {
      throw new HttpError(
        400,
        "validation_failed",
        `pattern is not a valid regular expression: ${(err as Error).message}`,
        { field: "pattern" },
      );
    }
    return { name: body.name, kind: "pattern", pattern: body.pattern, entries: [] };
  }
  if (!body.entries?.length)
    throw new HttpError(400, "validation_failed", "a list entity type needs `entries`", { field: "entries" });
  return { name: body.name, kind: "list", pattern: null, entries: body.entries };
}

export const entityTypeRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  const find = async (request: FastifyRequest, id: string) => {
    const row = await db.entityType.findFirst({ where: { id, tenantId: tenantOf(request) } });
    if (!row) throw notFound("entity type");
    return row;
  };

  app.get(
    "/v1/entity-types",
    { schema: { tags: ["entity types"], querystring: PageQuery, response: { 200: page(EntityType) } } },
    async (request) => {
      requireScope(request, false);
      const args = pageArgs(request.query);
      return toPage(
        await db.entityType.findMany({ ...args, where: { ...args.where, tenantId: tenantOf(request) } }),
        request.query,
        entityTypeView,
      );
    },
  );

  app.get(
    "/v1/entity-types/:id",
    { schema: { tags: ["entity types"], params: UuidParams, response: { 200: EntityType } } },
    async (request) => {
      requireScope(request, false);
      return entityTypeView(await find(request, request.params.id));
    },
  );

  app.post(
    "/v1/entity-types",
    { schema: { tags: ["entity types"], body: EntityTypeInput, response: { 201: EntityType } } },
    async (request, reply) => {
      requireScope(request, true);
      const row = await unique(
        () => db.entityType.create({ data: { ...data(request.body), tenantId: tenantOf(request) } }),
        `an entity type named "${request.body.name}" exists`,
      );
      return reply.code(201).send(entityTypeView(row));
    },
  );

  app.put(
    "/v1/entity-types/:id",
    { schema: { tags: ["entity types"], params: UuidParams, body: EntityTypeInput, response: { 200: EntityType } } },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      return entityTypeView(
        await unique(
          () => db.entityType.update({ where: { id: row.id }, data: data(request.body) }),
          `an entity type named "${request.body.name}" exists`,
        ),
      );
    },
  );

  app.delete(
    "/v1/entity-types/:id",
    { schema: { tags: ["entity types"], params: UuidParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      requireScope(request, true);
      await db.entityType.delete({ where: { id: (await find(request, request.params.id)).id } });
      return reply.code(204).send(null);
    },
  );
};
