import { prismaSql, type Db, type Pool, type Sql } from "@cb/db";
import { defaultLogger, type Logger } from "@cb/logging";
import type { SerializedClassifier } from "./classifier.ts";
import type { EntityTypeDefinition } from "./entities.ts";
import { loadModel, trainModel, type IntentDefinition, type NluModel, type SerializedModel } from "./model.ts";

/** What a tenant's model is keyed by: its training revision (moved by triggers) and language. */
export type TrainingVersion = { revision: string; language: string };

/**
 * Per-tenant models, persisted and versioned in PostgreSQL, and reloaded by every worker when the
 * tenant's training data (intents, entity types, language) changes. Each call compares the
 * tenant's training version (its revision, which triggers move on every change of an intent or
 * entity type, and its language: one row, however many intents) with the cached model's: nobody
 * has to remember to retrain, and a worker that starts later loads the stored model instead of
 * training again.
 */
export interface ModelStore {
  /** The tenant's current model. `version`, when the caller has just read it with the tenant, spares reading it again. */
  load(tenantId: string, version?: TrainingVersion): Promise<NluModel>;
}

const TRAINING_VERSION = `SELECT "trainingRevision"::text AS revision, language FROM "Tenant" WHERE id = $1::uuid`;

/** What a tenant's model is trained from (also what its model report cross-validates, evaluation.ts). */
export async function trainingData(
  db: Db,
  tenantId: string,
): Promise<{ intents: IntentDefinition[]; entityTypes: EntityTypeDefinition[]; language: string }> {
  const [intents, types, tenant] = await Promise.all([
    db.intent.findMany({ where: { tenantId }, orderBy: { name: "asc" } }),
    db.entityType.findMany({ where: { tenantId }, orderBy: { name: "asc" } }),
    db.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { language: true } }),
  ]);
  return {
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
  };
}

function split(model: NluModel): { definition: object; weights: Buffer } {
  const { classifier, ...rest } = model.toJSON();
  if (!classifier) return { definition: { ...rest, classifier: null }, weights: Buffer.alloc(0) };
  const { weights, ...meta } = classifier;
  return { definition: { ...rest, classifier: meta }, weights: Buffer.from(weights, "base64") };
}

function join(definition: unknown, weights: Uint8Array): NluModel {
  const d = definition as Omit<SerializedModel, "classifier"> & {
    classifier: Omit<SerializedClassifier, "weights"> | null;
  };
  return loadModel({
    ...d,
    classifier: d.classifier ? { ...d.classifier, weights: Buffer.from(weights).toString("base64") } : null,
  });
}

/** Prisma's code for a unique constraint's refusal: here, the same version stored by another worker first. */
const isUniqueViolation = (err: unknown) => (err as { code?: unknown }).code === "P2002";

/** `pool`: the training version, read on every message the caller does not hand it, goes straight to pg as a prepared statement. */
export function createModelStore(
  db: Db,
  options: { threshold?: number; pool?: Pool; logger?: Logger } = {},
): ModelStore {
  const sql: Sql = options.pool ?? prismaSql(db);
  const logger = options.logger ?? defaultLogger();
  const cache = new Map<string, { fingerprint: string; model: NluModel }>();
  const training = new Map<string, Promise<NluModel>>();

  async function build(tenantId: string, fingerprint: string): Promise<NluModel> {
    const stored = await db.nluModel.findFirst({ where: { tenantId, fingerprint }, orderBy: { version: "desc" } });
    if (stored) return join(stored.definition, stored.weights);
    const data = await trainingData(db, tenantId);
    const model = trainModel(data.intents, {
      entityTypes: data.entityTypes,
      language: data.language,
      ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    });
    const { definition, weights } = split(model);
    const latest = await db.nluModel.findFirst({
      where: { tenantId },
      orderBy: { version: "desc" },
      select: { version: true },
    });
    // Another worker may store the same version at the same moment; either copy is right. Any other
    // failure still leaves the model in use (from memory), but every process retrains it: logged.
    await db.nluModel
      .create({
        data: {
          tenantId,
          version: (latest?.version ?? 0) + 1,
          fingerprint,
          definition: definition as object,
          weights: new Uint8Array(weights),
        },
      })
      .catch((err: unknown) => {
        if (!isUniqueViolation(err))
          logger.error({ err, tenantId, fingerprint }, "could not store the trained NLU model; it is used unstored");
      });
    return model;
  }

  return {
    async load(tenantId, version) {
      const { revision, language } =
        version ??
        (await sql.query<TrainingVersion>({ name: "nlu-training-version", text: TRAINING_VERSION, values: [tenantId] }))
          .rows[0]!;
      // The NluModel column keeps its name: a stored model is found by the version it was trained at.
      const fingerprint = `${revision}:${language}`;
      const cached = cache.get(tenantId);
      if (cached?.fingerprint === fingerprint) return cached.model;
      const key = `${tenantId}:${fingerprint}`;
      let pending = training.get(key);
      if (!pending) {
        pending = build(tenantId, fingerprint).finally(() => training.delete(key));
        training.set(key, pending);
      }
      const model = await pending;
      cache.set(tenantId, { fingerprint, model });
      return model;
    },
  };
}
