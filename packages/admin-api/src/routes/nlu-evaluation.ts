import { prismaSql } from "@cb/db";
import { currentVersion, enqueueEvaluation, evaluationOf, latestEvaluation, type StoredEvaluation } from "@cb/nlu";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { requireScope, tenantOf, type AdminApiOptions } from "../context.ts";
import { NluEvaluation } from "../schemas.ts";

/** How soon a client asks again while the report is computed. */
const RETRY_AFTER_S = 5;

const view = (status: "current" | "computing" | "failed", trainingRevision: bigint, row: StoredEvaluation | null) => ({
  status,
  trainingRevision: String(trainingRevision),
  evaluatedRevision: row ? String(row.revision) : null,
  evaluatedAt: row ? row.createdAt.toISOString() : null,
  durationMs: row?.durationMs ?? null,
  error: row?.error ?? null,
  report: row?.report ?? null,
});

/**
 * The model report: k-fold cross-validation on the tenant's examples, computed by a worker in the
 * background (nlu-evaluate) for each version of the training data, the first time it is asked for.
 */
export const nluEvaluationRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, { db }) => {
  app.get(
    "/v1/nlu/evaluation",
    {
      schema: {
        tags: ["intents"],
        summary:
          "The model report (cross-validation on the tenant's examples): 200 when it is of the training data as it is, else 202 while a worker computes it (ask again after Retry-After)",
        response: { 200: NluEvaluation, 202: NluEvaluation },
      },
    },
    async (request, reply) => {
      requireScope(request, "read");
      const tenantId = tenantOf(request);
      const version = await currentVersion(db, tenantId);
      const mine = await evaluationOf(db, tenantId, version.fingerprint);
      if (mine) return view(mine.status === "done" ? "current" : "failed", version.revision, mine);
      // One job per tenant and version however often this is asked (job key); idempotent.
      await enqueueEvaluation(prismaSql(db), tenantId, version.fingerprint);
      return reply
        .code(202)
        .header("retry-after", String(RETRY_AFTER_S))
        .send(view("computing", version.revision, await latestEvaluation(db, tenantId)));
    },
  );
};
