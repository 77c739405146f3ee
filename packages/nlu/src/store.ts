import { prismaSql, type Db, type Pool, type Sql } from "@cb/db";
import { LRUCache } from "lru-cache";
import type { NluModel } from "./model.ts";
import { QUICK_MODEL_BUDGET, quickModel } from "./quick-model.ts";
import { join, type StoredModel } from "./stored-model.ts";
import { fingerprintOf, readTrainingData, type TrainingVersion } from "./training-data.ts";

export type { TrainingVersion } from "./training-data.ts";

/**
 * Per-tenant models as the training jobs store them in PostgreSQL (training.ts), loaded by every
 * worker and kept in memory up to a size. Each call compares the tenant's training version (its
 * revision, which triggers move on every change of an intent or entity type, and its language: one
 * row, however many intents) with the model in memory. A turn never trains a model of any size:
 * until the job has stored the new version, turns keep the previous one.
 */
export interface ModelStore {
  /** The tenant's current model. `version`, when the caller has just read it with the tenant, spares reading it again. */
  load(tenantId: string, version?: TrainingVersion): Promise<NluModel>;
  /** Bytes of models held in memory now, as the bound counts them. */
  bytes(): number;
}

export interface ModelStoreOptions {
  /** The training version, read on every message the caller does not hand it, goes straight to pg as a prepared statement. */
  pool?: Pool;
  /** Bytes of models kept in memory (DEFAULT_MODEL_CACHE_BYTES); the least recently used go first. */
  maxBytes?: number;
  /** While a version is being trained, how often a worker looks whether it is stored yet (DEFAULT_RECHECK_MS). */
  recheckMs?: number;
  /** Examples × intents up to which the current version is trained in the turn meanwhile (QUICK_MODEL_BUDGET). */
  quickModelBudget?: number;
}

export const DEFAULT_MODEL_CACHE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_RECHECK_MS = 1_000;

interface Entry {
  /** The training version the model was made from. */
  fingerprint: string;
  /** Its `NluModel` row; null for a quick model, made here and not stored. */
  id: string | null;
  model: NluModel;
  bytes: number;
  /** The newer version last looked for in the table and not found, and when. */
  lookedFor: string;
  lookedAt: number;
}

const TRAINING_VERSION = `SELECT "trainingRevision"::text AS revision, language FROM "Tenant" WHERE id = $1::uuid`;
// The model of the version asked for when it is stored, else the newest one.
const BEST_STORED = `SELECT id, fingerprint FROM "NluModel" WHERE "tenantId" = $1::uuid
  ORDER BY fingerprint = $2 DESC, version DESC LIMIT 1`;
// Its size in memory, estimated from its stored size: the weights' bytes, and twice the JSON text
// (each vocabulary entry is a string and an index entry in memory). Measured on 1,000 models of 20
// intents (npm run bench:nlu-training), the stored size alone fell 18% short.
// Examples × intents, as the quick model's budget counts them (quick-model.ts).
const TRAINING_SIZE = `SELECT (coalesce(sum(cardinality(examples)), 0) * count(*))::float8 AS product
  FROM "Intent" WHERE "tenantId" = $1::uuid AND priority >= 0`;
const STORED_MODEL = `SELECT definition::text AS definition, encode(weights, 'base64') AS weights,
    (2 * octet_length(definition::text) + octet_length(weights))::int AS bytes
  FROM "NluModel" WHERE id = $1::uuid`;

export function createModelStore(db: Db, options: ModelStoreOptions = {}): ModelStore {
  const sql: Sql = options.pool ?? prismaSql(db);
  const recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
  const quickBudget = options.quickModelBudget ?? QUICK_MODEL_BUDGET;
  const cache = new LRUCache<string, Entry>({
    maxSize: options.maxBytes ?? DEFAULT_MODEL_CACHE_BYTES,
    sizeCalculation: (entry) => Math.max(1, entry.bytes),
  });
  // One lookup per tenant at a time, however many of its turns ask.
  const loading = new Map<string, Promise<NluModel>>();

  async function refresh(tenantId: string, fingerprint: string, entry: Entry | undefined): Promise<NluModel> {
    const found = (
      await sql.query<{ id: string; fingerprint: string }>({
        name: "nlu-best-stored",
        text: BEST_STORED,
        values: [tenantId, fingerprint],
      })
    ).rows[0];
    const now = Date.now();
    if (found && found.fingerprint === fingerprint && found.id !== entry?.id) return loadStored(found, now);
    if (entry && entry.fingerprint === fingerprint) {
      // A quick model of this very version: the same as the one its job will store.
      entry.lookedFor = fingerprint;
      entry.lookedAt = now;
      return entry.model;
    }
    // The version asked for is being trained. A small tenant's model takes milliseconds: its data as
    // it is now answers at once (an intent just added is matched), rather than the stale one.
    const size = (
      await sql.query<{ product: number }>({ name: "nlu-training-size", text: TRAINING_SIZE, values: [tenantId] })
    ).rows[0]!;
    if (size.product <= quickBudget || !found) {
      const read = await readTrainingData(db, tenantId);
      const data = read?.data ?? { intents: [], entityTypes: [], language: "en" };
      const model = quickModel(data);
      const bytes = Buffer.byteLength(JSON.stringify(model.toJSON()));
      return remember(
        tenantId,
        { id: null, fingerprint: read?.fingerprint ?? fingerprint, model, bytes },
        fingerprint,
        now,
      );
    }
    // Larger: the newest stored model serves until the job has stored this version.
    if (found.id !== entry?.id) return loadStored(found, now);
    entry.lookedFor = fingerprint;
    entry.lookedAt = now;
    return entry.model;

    async function loadStored(stored: { id: string; fingerprint: string }, at: number): Promise<NluModel> {
      const row = (
        await sql.query<StoredModel & { bytes: number }>({
          name: "nlu-stored-model",
          text: STORED_MODEL,
          values: [stored.id],
        })
      ).rows[0];
      // Deleted since it was found: a newer model was stored (its job prunes the older ones, training.ts),
      // or the tenant is gone. Looked for again, it is found or the tenant answered as one without a model.
      if (!row) return refresh(tenantId, fingerprint, entry);
      return remember(tenantId, { ...stored, model: join(row), bytes: row.bytes }, fingerprint, at);
    }
  }

  function remember(
    tenantId: string,
    loaded: Omit<Entry, "lookedFor" | "lookedAt">,
    fingerprint: string,
    now: number,
  ): NluModel {
    cache.set(tenantId, { ...loaded, lookedFor: fingerprint, lookedAt: now });
    return loaded.model;
  }

  return {
    async load(tenantId, version) {
      const fingerprint = fingerprintOf(
        version ??
          (
            await sql.query<TrainingVersion>({
              name: "nlu-training-version",
              text: TRAINING_VERSION,
              values: [tenantId],
            })
          ).rows[0]!,
      );
      const entry = cache.get(tenantId);
      if (entry && entry.id !== null && entry.fingerprint === fingerprint) return entry.model;
      if (entry && entry.lookedFor === fingerprint && Date.now() - entry.lookedAt < recheckMs) return entry.model;
      let pending = loading.get(tenantId);
      if (!pending) {
        pending = refresh(tenantId, fingerprint, entry).finally(() => loading.delete(tenantId));
        loading.set(tenantId, pending);
      }
      return pending;
    },
    bytes: () => cache.calculatedSize,
  };
}
