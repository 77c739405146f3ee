import { prismaSql } from "@cb/db";
import { trainingStatus } from "@cb/nlu";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { notFound, requireScope, tenantOf, type AdminApiOptions } from "../context.ts";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const NluStatus = Type.Object({
  revision: Type.String({ description: "the training version of the tenant's intents and entity types now" }),
  language: Type.String(),
  model: Nullable(
    Type.Object({
      version: Type.Integer(),
      trainedAt: Type.String({ format: "date-time" }),
      current: Type.Boolean({ description: "trained from the data as it is now; false: the previous model answers" }),
    }),
  ),
  training: Nullable(
    Type.Object({
      state: Type.Union(
        [Type.Literal("queued"), Type.Literal("running"), Type.Literal("retrying"), Type.Literal("failed")],
        {
          description: "failed: given up after its last attempt (the next change of training data queues it again)",
        },
      ),
      attempts: Type.Integer(),
      maxAttempts: Type.Integer(),
      lastError: Nullable(Type.String()),
      runAt: Type.String({ format: "date-time", description: "when it runs, or runs again" }),
    }),
  ),
});

/** Where the tenant's NLU model stands: trained in the background whenever its training data changes. */
export const nluStatusRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  app.get(
    "/v1/nlu/status",
    {
      schema: {
        tags: ["intents"],
        summary: "The tenant's NLU model and its training job",
        response: { 200: NluStatus },
      },
    },
    async (request) => {
      requireScope(request, false);
      const status = await trainingStatus(prismaSql(db), tenantOf(request));
      if (!status) throw notFound("tenant");
      return {
        ...status,
        model: status.model && { ...status.model, trainedAt: status.model.trainedAt.toISOString() },
        training: status.training && { ...status.training, runAt: status.training.runAt.toISOString() },
      };
    },
  );
};
