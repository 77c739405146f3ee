import type { EndpointAuth } from "@cb/fulfillment";
import { generateSigningSecret } from "@cb/fulfillment";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { hint, notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { unique } from "../errors.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import { concurrentChange, finishRotation, RotateBody, RotationFinished, startRotation } from "../rotation.ts";
import { Endpoint, EndpointCreated, EndpointInput, EndpointPatch, UuidParams } from "../schemas.ts";

interface Row {
  id: string;
  name: string;
  url: string;
  timeoutMs: number;
  secrets: string | null;
  createdAt: Date;
}

/** Fulfillment endpoints; their credentials are sealed and never returned after creation. */
export const endpointRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db, sealer }) => {
  const auth = (row: Row): EndpointAuth => (row.secrets ? sealer.openJson<EndpointAuth>(row.secrets) : {});
  const view = (row: Row) => {
    const a = auth(row);
    return {
      id: row.id,
      name: row.name,
      url: row.url,
      timeoutMs: row.timeoutMs,
      auth: {
        basicAuth: Boolean(a.basic),
        headers: Object.keys(a.headers ?? {}),
        signingSecretHints: (a.signingSecrets ?? []).map(hint),
      },
      createdAt: row.createdAt.toISOString(),
    };
  };
  const find = async (request: FastifyRequest, id: string) => {
    const row = await db.fulfillmentEndpoint.findFirst({ where: { id, tenantId: tenantOf(request) } });
    if (!row) throw notFound("fulfillment endpoint");
    return row;
  };

  app.get(
    "/v1/fulfillment-endpoints",
    { schema: { tags: ["fulfillment endpoints"], querystring: PageQuery, response: { 200: page(Endpoint) } } },
    async (request) => {
      requireScope(request, false);
      const args = pageArgs(request.query);
      return toPage(
        await db.fulfillmentEndpoint.findMany({ ...args, where: { ...args.where, tenantId: tenantOf(request) } }),
        request.query,
        view,
      );
    },
  );

  app.get(
    "/v1/fulfillment-endpoints/:id",
    { schema: { tags: ["fulfillment endpoints"], params: UuidParams, response: { 200: Endpoint } } },
    async (request) => {
      requireScope(request, false);
      return view(await find(request, request.params.id));
    },
  );

  app.post(
    "/v1/fulfillment-endpoints",
    {
      schema: {
        tags: ["fulfillment endpoints"],
        summary: "Add an endpoint; requests to it are signed (Standard Webhooks) with a secret shown only here",
        body: EndpointInput,
        response: { 201: EndpointCreated },
      },
    },
    async (request, reply) => {
      requireScope(request, true);
      const { name, url, timeoutMs, basicAuth, headers } = request.body;
      const signingSecret = generateSigningSecret();
      const secrets: EndpointAuth = {
        signingSecrets: [signingSecret],
        ...(basicAuth ? { basic: basicAuth } : {}),
        ...(headers ? { headers } : {}),
      };
      const row = await unique(
        () =>
          db.fulfillmentEndpoint.create({
            data: {
              tenantId: tenantOf(request),
              name,
              url,
              ...(timeoutMs ? { timeoutMs } : {}),
              secrets: sealer.sealJson(secrets),
            },
          }),
        `an endpoint named "${name}" exists`,
      );
      return reply.code(201).send({ endpoint: view(row), signingSecret });
    },
  );

  app.patch(
    "/v1/fulfillment-endpoints/:id",
    {
      schema: { tags: ["fulfillment endpoints"], params: UuidParams, body: EndpointPatch, response: { 200: Endpoint } },
    },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      const { basicAuth, headers, ...plain } = request.body;
      const current = auth(row);
      const secrets: EndpointAuth = {
        ...current,
        ...(basicAuth ? { basic: basicAuth } : {}),
        ...(headers ? { headers } : {}),
      };
      return view(
        await unique(
          () =>
            db.fulfillmentEndpoint.update({
              where: { id: row.id },
              data: { ...plain, secrets: sealer.sealJson(secrets) },
            }),
          `an endpoint named "${plain.name}" exists`,
        ),
      );
    },
  );

  // Compare-and-set on the sealed value, so two concurrent rotations cannot both win.
  const saveSecrets = async (row: Row, secrets: EndpointAuth) => {
    const { count } = await db.fulfillmentEndpoint.updateMany({
      where: { id: row.id, secrets: row.secrets },
      data: { secrets: sealer.sealJson(secrets) },
    });
    if (count === 0) throw concurrentChange();
    return db.fulfillmentEndpoint.findUniqueOrThrow({ where: { id: row.id } });
  };

  app.post(
    "/v1/fulfillment-endpoints/:id/rotate-secret",
    {
      schema: {
        tags: ["fulfillment endpoints"],
        summary:
          "Start a signing-secret rotation: a new secret signs beside the current one until the rotation is finished",
        params: UuidParams,
        body: RotateBody,
        response: { 200: EndpointCreated },
      },
    },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      const current = auth(row);
      const { secrets, signingSecret } = startRotation(
        current.signingSecrets ?? [],
        request.body.keepPrevious !== false,
      );
      const updated = await saveSecrets(row, { ...current, signingSecrets: secrets });
      return { endpoint: view(updated), signingSecret };
    },
  );

  app.post(
    "/v1/fulfillment-endpoints/:id/rotate-secret/finish",
    {
      schema: {
        tags: ["fulfillment endpoints"],
        summary: "Finish a rotation: only the newest secret signs from now on (with nothing to finish, a no-op)",
        params: UuidParams,
        response: { 200: RotationFinished(Endpoint, "endpoint") },
      },
    },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      const current = auth(row);
      const before = current.signingSecrets ?? [];
      const kept = finishRotation(before);
      const updated =
        kept.length === before.length ? row : await saveSecrets(row, { ...current, signingSecrets: kept });
      return { endpoint: view(updated), removedSecrets: before.length - kept.length };
    },
  );

  app.delete(
    "/v1/fulfillment-endpoints/:id",
    { schema: { tags: ["fulfillment endpoints"], params: UuidParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      requireScope(request, true);
      await db.fulfillmentEndpoint.delete({ where: { id: (await find(request, request.params.id)).id } });
      return reply.code(204).send(null);
    },
  );
};
