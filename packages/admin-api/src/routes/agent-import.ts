import { HttpError } from "@cb/core";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { readAgentZip } from "../dialogflow-import.ts";

export const agentImportRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  app.addContentTypeParser(
    ["application/zip", "application/octet-stream"],
    { parseAs: "buffer", bodyLimit: 20 * 1024 * 1024 },
    (_request, body, done) => done(null, body),
  );

  app.post(
    "/v1/agent-import",
    {
      config: {
        openapiBody: { content: { "application/zip": { schema: { type: "string", format: "binary" } } } },
      },
      schema: {
        tags: ["intents"],
        summary:
          "Import a Dialogflow ES agent export (the console's zip): intents, training phrases, parameters, text / quick-reply / card / image / custom payload responses (per platform), contexts, events, actions, priorities and entities. Same-named intents and entity types are replaced; `unmapped` lists what has no counterpart here.",
        consumes: ["application/zip"],
        querystring: Type.Object({
          language: Type.Optional(
            Type.String({ description: "which language's phrases to import (default: the agent's)" }),
          ),
          fulfillmentEndpointId: Type.Optional(
            Type.String({ format: "uuid", description: "the endpoint for intents that had their webhook enabled" }),
          ),
        }),
        response: {
          200: Type.Object({
            language: Type.String(),
            intents: Type.Integer(),
            entityTypes: Type.Integer(),
            webhookIntentsWithoutEndpoint: Type.Array(Type.String()),
            unmapped: Type.Array(
              Type.Object({
                intent: Type.Optional(Type.String()),
                entityType: Type.Optional(Type.String()),
                items: Type.Array(Type.String(), { description: "what was not imported or has no effect, and why" }),
              }),
              { description: "what the agent holds that has no counterpart here, intent by intent" },
            ),
          }),
        },
      },
    },
    async (request) => {
      requireScope(request, true);
      const tenantId = tenantOf(request);
      if (!Buffer.isBuffer(request.body))
        throw new HttpError(415, "unsupported_media_type", "send the zip with Content-Type: application/zip");
      const endpointId = request.query.fulfillmentEndpointId;
      if (endpointId && !(await db.fulfillmentEndpoint.findFirst({ where: { id: endpointId, tenantId } }))) {
        throw new HttpError(
          400,
          "validation_failed",
          "fulfillmentEndpointId names no fulfillment endpoint of this tenant",
        );
      }
      const agent = readAgentZip(request.body, request.query.language);
      await db.$transaction(async (tx) => {
        for (const e of agent.entityTypes) {
          const data =
            e.kind === "pattern"
              ? { kind: "pattern", pattern: e.pattern, entries: [] }
              : { kind: "list", pattern: null, entries: e.entries };
          await tx.entityType.upsert({
            where: { tenantId_name: { tenantId, name: e.name } },
            create: { tenantId, name: e.name, ...data },
            update: data,
          });
        }
        for (const i of agent.intents) {
          const data = {
            examples: i.examples,
            parameters: i.parameters,
            responses: i.responses as object[],
            isFallback: i.isFallback,
            inputContexts: i.inputContexts,
            outputContexts: i.outputContexts,
            events: i.events,
            action: i.action,
            priority: i.priority,
            resetContexts: i.resetContexts,
            webhookForSlotFilling: i.webhookForSlotFilling,
            endInteraction: i.endInteraction,
            fulfillmentEndpointId: i.webhookUsed ? (endpointId ?? null) : null,
          };
          await tx.intent.upsert({
            where: { tenantId_name: { tenantId, name: i.name } },
            create: { tenantId, name: i.name, ...data },
            update: data,
          });
        }
      });
      return {
        language: agent.language,
        intents: agent.intents.length,
        entityTypes: agent.entityTypes.length,
        webhookIntentsWithoutEndpoint: endpointId ? [] : agent.intents.filter((i) => i.webhookUsed).map((i) => i.name),
        unmapped: agent.unmapped,
      };
    },
  );
};
