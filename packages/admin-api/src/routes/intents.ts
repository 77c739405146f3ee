import { HttpError } from "@cb/core";
import type { Db } from "@cb/db";
import { createModelStore, DEFAULT_FALLBACK, understand } from "@cb/nlu";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type, type Static } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { unique } from "../errors.ts";
import { PageQuery, page, pageArgs, toPage } from "../pagination.ts";
import { UuidParams, Intent, IntentInput, IntentTest, IntentTestResult, intentView } from "../schemas.ts";

async function checkEndpoint(db: Db, tenantId: string, id: string | null | undefined): Promise<void> {
  if (!id) return;
  if (!(await db.fulfillmentEndpoint.findFirst({ where: { id, tenantId } }))) {
    throw new HttpError(
      400,
      "validation_failed",
      "fulfillmentEndpointId names no fulfillment endpoint of this tenant",
      { field: "fulfillmentEndpointId" },
    );
  }
}

const data = (body: Static<typeof IntentInput>) => ({
  name: body.name,
  examples: body.examples,
  parameters: (body.parameters ?? []) as object[],
  responses: (body.responses ?? []) as object[],
  isFallback: body.isFallback ?? false,
  inputContexts: body.inputContexts ?? [],
  outputContexts: (body.outputContexts ?? []) as object[],
  fulfillmentEndpointId: body.fulfillmentEndpointId ?? null,
  action: body.action ?? "",
  events: body.events ?? [],
  webhookForSlotFilling: body.webhookForSlotFilling ?? false,
  priority: body.priority ?? 500000,
  resetContexts: body.resetContexts ?? false,
  endInteraction: body.endInteraction ?? false,
  handoff: body.handoff ?? false,
});

/** Intents. Any change here queues the training of the tenant's model (a trigger on its revision). */
export const intentRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  const find = async (request: FastifyRequest, id: string) => {
    const row = await db.intent.findFirst({ where: { id, tenantId: tenantOf(request) } });
    if (!row) throw notFound("intent");
    return row;
  };
  // The models the workers use (the previous one until a change is trained), for phrases tested through the API.
  const models = createModelStore(db);

  app.get(
    "/v1/intents",
    { schema: { tags: ["intents"], querystring: PageQuery, response: { 200: page(Intent) } } },
    async (request) => {
      requireScope(request, false);
      const args = pageArgs(request.query);
      return toPage(
        await db.intent.findMany({ ...args, where: { ...args.where, tenantId: tenantOf(request) } }),
        request.query,
        intentView,
      );
    },
  );

  app.get(
    "/v1/intents/:id",
    { schema: { tags: ["intents"], params: UuidParams, response: { 200: Intent } } },
    async (request) => {
      requireScope(request, false);
      return intentView(await find(request, request.params.id));
    },
  );

  app.post(
    "/v1/intents",
    { schema: { tags: ["intents"], body: IntentInput, response: { 201: Intent } } },
    async (request, reply) => {
      requireScope(request, true);
      const tenantId = tenantOf(request);
      await checkEndpoint(db, tenantId, request.body.fulfillmentEndpointId);
      const row = await unique(
        () => db.intent.create({ data: { ...data(request.body), tenantId } }),
        `an intent named "${request.body.name}" exists`,
      );
      return reply.code(201).send(intentView(row));
    },
  );

  app.post(
    "/v1/intents/test",
    {
      schema: {
        tags: ["intents"],
        summary:
          "Which intent a phrase matches, as a conversation's first message would (the tenant's offline model; nothing is sent or stored)",
        body: IntentTest,
        response: { 200: IntentTestResult },
      },
    },
    async (request) => {
      requireScope(request, false);
      const tenantId = tenantOf(request);
      const { timezone } = await db.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { timezone: true } });
      const model = await models.load(tenantId);
      const result = understand({ text: request.body.text, state: undefined, model, tenant: { timezone } });
      const fallback = model.intents.find((i) => i.isFallback)?.name ?? DEFAULT_FALLBACK;
      return {
        intent: result.intent,
        confidence: result.confidence,
        fallback: result.intent === fallback,
        parameters: result.parameters,
        allRequiredParamsPresent: result.allRequiredParamsPresent,
        prompt: result.prompt ?? null,
      };
    },
  );

  app.put(
    "/v1/intents/:id",
    {
      schema: {
        tags: ["intents"],
        summary: "Replace an intent",
        params: UuidParams,
        body: IntentInput,
        response: { 200: Intent },
      },
    },
    async (request) => {
      requireScope(request, true);
      const row = await find(request, request.params.id);
      await checkEndpoint(db, row.tenantId, request.body.fulfillmentEndpointId);
      return intentView(
        await unique(
          () => db.intent.update({ where: { id: row.id }, data: data(request.body) }),
          `an intent named "${request.body.name}" exists`,
        ),
      );
    },
  );

  app.delete(
    "/v1/intents/:id",
    { schema: { tags: ["intents"], params: UuidParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      requireScope(request, true);
      await db.intent.delete({ where: { id: (await find(request, request.params.id)).id } });
      return reply.code(204).send(null);
    },
  );
};
