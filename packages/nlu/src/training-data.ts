import type { Db } from "@cb/db";
import type { EntityTypeDefinition } from "./entities.ts";
import type { IntentDefinition } from "./model.ts";

/** What a tenant's model is trained from. */
export interface TrainingData {
  intents: IntentDefinition[];
  entityTypes: EntityTypeDefinition[];
  language: string;
}

/** What a tenant's model is keyed by: its training revision (moved by triggers) and language. */
export type TrainingVersion = { revision: string; language: string };

/** The `NluModel` column keeps its name: a stored model is found by the version it was trained at. */
export const fingerprintOf = (version: TrainingVersion) => `${version.revision}:${version.language}`;

/**
 * The tenant's training data and the fingerprint of that very data: one snapshot (repeatable read),
 * so a change committed meanwhile cannot end up in a model stored under the version before it.
 * Null when the tenant is gone.
 */
export async function readTrainingData(
  db: Db,
  tenantId: string,
): Promise<{ fingerprint: string; data: TrainingData } | null> {
  return db.$transaction(
    async (tx) => {
      const tenant = await tx.tenant.findUnique({
        where: { id: tenantId },
        select: { language: true, trainingRevision: true },
      });
      if (!tenant) return null;
      const [intents, types] = await Promise.all([
        tx.intent.findMany({ where: { tenantId }, orderBy: { name: "asc" } }),
        tx.entityType.findMany({ where: { tenantId }, orderBy: { name: "asc" } }),
      ]);
      return {
        fingerprint: fingerprintOf({ revision: String(tenant.trainingRevision), language: tenant.language }),
        data: {
          language: tenant.language,
          // Dialogflow's "Ignore" priority (negative): the intent is never matched.
          intents: intents
            .filter((i) => i.priority >= 0)
            .map((i) => ({
              name: i.name,
              examples: i.examples,
              parameters: i.parameters as unknown as IntentDefinition["parameters"],
              isFallback: i.isFallback,
              inputContexts: i.inputContexts,
              outputContexts: i.outputContexts as unknown as IntentDefinition["outputContexts"],
              events: i.events,
              resetContexts: i.resetContexts,
              priority: i.priority,
            })),
          entityTypes: types.map((t) =>
            t.kind === "pattern"
              ? { name: t.name, kind: "pattern" as const, pattern: t.pattern ?? "" }
              : { name: t.name, kind: "list" as const, entries: t.entries as { value: string; synonyms?: string[] }[] },
          ),
        },
      };
    },
    { isolationLevel: "RepeatableRead", timeout: 30_000 },
  );
}
