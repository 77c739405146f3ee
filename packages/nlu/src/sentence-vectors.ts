import { createHash } from "node:crypto";
import type { Sql } from "@cb/db";
import type { SentenceEncoder } from "./sentence-encoder.ts";
import { float32FromBase64, float32ToBase64 } from "./float32-base64.ts";

// Hashes go as hex and vectors as base64 text, decoded by the database (as stored-model.ts does the
// weights): one text array each way, through pg or Prisma alike, never a bytea conversion of theirs.
// The tenant's cached vectors of the texts asked for: tenant and encoder in the key, so one tenant's
// texts never read another's. Bounded by the tenant's own examples (pruned below).
const CACHED = `SELECT encode("textHash", 'hex') AS hash, encode(vector, 'base64') AS vector FROM "SentenceVector"
  WHERE "tenantId" = $1::uuid AND encoder = $2
    AND "textHash" = ANY(ARRAY(SELECT decode(h, 'hex') FROM unnest($3::text[]) AS h))`;
const STORE = `INSERT INTO "SentenceVector" ("tenantId", encoder, "textHash", vector)
  SELECT $1::uuid, $2, decode(h, 'hex'), decode(v, 'base64') FROM unnest($3::text[], $4::text[]) AS t(h, v)
  ON CONFLICT DO NOTHING`;
// Texts the tenant no longer trains on (an example removed or edited, another encoder).
const PRUNE = `WITH pruned AS (
    DELETE FROM "SentenceVector"
    WHERE "tenantId" = $1::uuid
      AND (encoder <> $2 OR NOT ("textHash" = ANY(ARRAY(SELECT decode(h, 'hex') FROM unnest($3::text[]) AS h))))
    RETURNING 1
  )
  SELECT count(*)::int AS pruned FROM pruned`;

/** Texts embedded and stored at a time: a training cut short by its time limit keeps what it embedded. */
const STORE_EVERY = 512;

const hashOf = (text: string) => createHash("sha256").update(text).digest("hex");

export interface SentenceVectors {
  vectors: Map<string, Float32Array>;
  /** Texts found in the cache, and texts embedded now. */
  cached: number;
  embedded: number;
  pruned: number;
}

/**
 * The encoder's vectors of a tenant's example texts: those in the `SentenceVector` cache, the rest
 * embedded (priority "training") and stored; then the tenant's cached vectors of other texts are
 * pruned. A retraining after one new example embeds that one text.
 */
export async function sentenceVectorsFor(
  sql: Sql,
  tenantId: string,
  texts: string[],
  encoder: SentenceEncoder,
  signal?: AbortSignal,
): Promise<SentenceVectors> {
  const unique = [...new Set(texts)];
  const hashes = unique.map(hashOf);
  const byHash = new Map(unique.map((text, i) => [hashes[i]!, text]));
  const vectors = new Map<string, Float32Array>();
  const rows = (
    await sql.query<{ hash: string; vector: string }>({
      name: "nlu-cached-sentence-vectors",
      text: CACHED,
      values: [tenantId, encoder.name, hashes],
    })
  ).rows;
  for (const row of rows) {
    const text = byHash.get(row.hash);
    const vector = float32FromBase64(row.vector);
    if (text !== undefined && vector.length === encoder.dimensions) vectors.set(text, vector);
  }
  const cached = vectors.size;
  const missing = unique.filter((t) => !vectors.has(t));
  for (let i = 0; i < missing.length; i += STORE_EVERY) {
    const chunk = missing.slice(i, i + STORE_EVERY);
    const embedded = await encoder.embed(chunk, "training", signal);
    for (const [j, text] of chunk.entries()) vectors.set(text, embedded[j]!);
    await sql.query({
      name: "nlu-store-sentence-vectors",
      text: STORE,
      values: [tenantId, encoder.name, chunk.map(hashOf), embedded.map(float32ToBase64)],
    });
  }
  const { pruned } = (
    await sql.query<{ pruned: number }>({
      name: "nlu-prune-sentence-vectors",
      text: PRUNE,
      values: [tenantId, encoder.name, hashes],
    })
  ).rows[0]!;
  return { vectors, cached, embedded: missing.length, pruned };
}
