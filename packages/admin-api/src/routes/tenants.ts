import { timingSafeEqual } from "node:crypto";
import { HttpError } from "@cb/core";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { newKey } from "../keys.ts";
import { ApiKeyCreated, Tenant, TenantInput, TenantPatch, tenantView } from "../schemas.ts";
import { assertTimeZone } from "../time-zone.ts";

function isOperator(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith("Bearer ")) return false;
  const given = Buffer.from(header.slice(7));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const tenantRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, options) => {
  const { db } = options;

  app.post(
    "/v1/tenants",
    {
      config: { public: true },
      schema: {
        tags: ["tenants"],
        summary: "Create a tenant and its first admin key (operator token)",
        body: TenantInput,
        response: { 201: Type.Object({ tenant: Tenant, apiKey: ApiKeyCreated }) },
      },
    },
    async (request, reply) => {
      if (!isOperator(request.headers.authorization, options.operatorToken))
        throw new HttpError(
          401,
          "unauthenticated",
          "creating tenants needs the deployment's operator token (ADMIN_TOKEN)",
        );
      assertTimeZone(request.body.timezone);
      const key = newKey();
      const tenant = await db.tenant.create({
        data: {
          ...request.body,
          apiKeys: {
            create: {
              id: key.id,
              name: "initial admin key",
              scopes: ["admin"],
              secretHash: key.hash,
              hint: key.secret.slice(-4),
            },
          },
        },
      });
      return reply.code(201).send({
        tenant: tenantView(tenant),
        apiKey: { id: key.id, name: "initial admin key", scopes: ["admin"], key: key.key },
      });
    },
  );

  app.get(
    "/v1/tenant",
    { schema: { tags: ["tenants"], summary: "The tenant of the calling key", response: { 200: Tenant } } },
    async (request) => {
      requireScope(request, false);
      return tenantView(await db.tenant.findUniqueOrThrow({ where: { id: tenantOf(request) } }));
    },
  );

  app.patch(
    "/v1/tenant",
    {
      schema: {
        tags: ["tenants"],
        summary:
          "Change the tenant's name, language, time zone or settings (understanding, notifications, handoff, webhook health)",
        body: TenantPatch,
        response: { 200: Tenant },
      },
    },
    async (request) => {
      requireScope(request, true);
      assertTimeZone(request.body.timezone);
      return tenantView(await db.tenant.update({ where: { id: tenantOf(request) }, data: request.body }));
    },
  );
};
