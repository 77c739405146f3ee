import { HttpError } from "@cb/core";
import type { Prisma } from "@cb/db";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { unique } from "../errors.ts";
import { Invited, Operator, OperatorInput, OperatorPatch, operatorView } from "../operator-schemas.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import { UuidParams } from "../schemas.ts";
import { newToken, noStore } from "../tokens.ts";

const INVITATION_MS = 7 * 86_400_000;

/**
 * Refuses a change that would take away the tenant's last enabled admin operator (the one who can
 * invite and manage the others from the console). The admins' rows are locked for the transaction,
 * so two admins demoting each other at once cannot both succeed.
 */
async function keepAnAdmin(tx: Prisma.TransactionClient, tenantId: string, operatorId: string): Promise<void> {
  const admins = await tx.$queryRaw<{ id: string }[]>`
    SELECT id FROM "Operator" WHERE "tenantId" = ${tenantId}::uuid AND role = 'admin' AND NOT disabled FOR UPDATE`;
  if (admins.length === 1 && admins[0]!.id === operatorId)
    throw new HttpError(409, "last_admin", "this is the tenant's last enabled admin: make another one admin first");
}

/** A new invitation (or password reset) token: its hash and expiry to store, the token to show once. */
function invitation() {
  const { token, hash } = newToken();
  const expiresAt = new Date(Date.now() + INVITATION_MS);
  return {
    stored: { invitationHash: hash, invitationExpiresAt: expiresAt },
    shown: { token, expiresAt: expiresAt.toISOString() },
  };
}

/** Operators of the tenant: invited by an admin, then signing in with the password they chose. */
export const operatorRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  const find = async (tenantId: string, id: string) => {
    const row = await db.operator.findFirst({ where: { id, tenantId } });
    if (!row) throw notFound("operator");
    return row;
  };

  app.post(
    "/v1/operators",
    {
      schema: {
        tags: ["operators"],
        summary: "Invite an operator; the invitation token is shown only in this response and expires in 7 days",
        body: OperatorInput,
        response: { 201: Invited },
      },
    },
    async (request, reply) => {
      requireScope(request, "admin");
      const { email, name, role } = request.body;
      const { stored, shown } = invitation();
      const row = await unique(
        () =>
          db.operator.create({
            data: { tenantId: tenantOf(request), email: email.toLowerCase(), name: name ?? null, role, ...stored },
          }),
        "an operator with this e-mail exists",
      );
      return noStore(reply)
        .code(201)
        .send({ operator: operatorView(row), invitation: shown });
    },
  );

  app.get(
    "/v1/operators",
    {
      schema: {
        tags: ["operators"],
        summary: "List operators",
        querystring: PageQuery,
        response: { 200: page(Operator) },
      },
    },
    async (request) => {
      requireScope(request, "read");
      const args = pageArgs(request.query);
      const rows = await db.operator.findMany({ ...args, where: { ...args.where, tenantId: tenantOf(request) } });
      return toPage(rows, request.query, operatorView);
    },
  );

  app.get(
    "/v1/operators/:id",
    { schema: { tags: ["operators"], params: UuidParams, response: { 200: Operator } } },
    async (request) => {
      requireScope(request, "read");
      return operatorView(await find(tenantOf(request), request.params.id));
    },
  );

  app.patch(
    "/v1/operators/:id",
    {
      schema: {
        tags: ["operators"],
        summary: "Change an operator's role or name, or disable them (which ends their sessions)",
        params: UuidParams,
        body: OperatorPatch,
        response: { 200: Operator },
      },
    },
    async (request) => {
      requireScope(request, "admin");
      const tenantId = tenantOf(request);
      const { id } = await find(tenantId, request.params.id);
      const row = await db.$transaction(async (tx) => {
        const { role, disabled } = request.body;
        if (disabled || (role !== undefined && role !== "admin")) await keepAnAdmin(tx, tenantId, id);
        if (disabled) await tx.operatorSession.deleteMany({ where: { operatorId: id } });
        return tx.operator.update({ where: { id }, data: request.body });
      });
      return operatorView(row);
    },
  );

  app.delete(
    "/v1/operators/:id",
    {
      schema: {
        tags: ["operators"],
        summary: "Remove an operator; their sessions end",
        params: UuidParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      requireScope(request, "admin");
      const tenantId = tenantOf(request);
      const { id } = await find(tenantId, request.params.id);
      // Sessions go with the row (ON DELETE CASCADE).
      await db.$transaction(async (tx) => {
        await keepAnAdmin(tx, tenantId, id);
        const { count } = await tx.operator.deleteMany({ where: { id, tenantId } });
        if (!count) throw notFound("operator");
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/v1/operators/:id/invitation",
    {
      schema: {
        tags: ["operators"],
        summary:
          "Issue a new invitation token (also a password reset): shown only in this response, it replaces any earlier one; the current password works until it is used",
        params: UuidParams,
        response: { 201: Invited },
      },
    },
    async (request, reply) => {
      requireScope(request, "admin");
      const { id } = await find(tenantOf(request), request.params.id);
      const { stored, shown } = invitation();
      const row = await db.operator.update({ where: { id }, data: stored });
      return noStore(reply)
        .code(201)
        .send({ operator: operatorView(row), invitation: shown });
    },
  );
};
