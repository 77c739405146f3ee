// The Universal Sentence Encoder (lite, 512 dimensions) for `bench:nlu --encoder`, as a worker runs
// it: the runtime's encoder thread (createSentenceEncoder), turns one message at a time, training
// texts in its batches; the training sentences' vectors cached beside the data, as a worker caches
// them in its database.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createLogger } from "@cb/logging";
import {
  createSentenceEncoder,
  SENTENCE_DIMENSIONS as DIMENSIONS,
  type SentenceEncoderRuntime,
} from "../src/sentence-encoder.ts";

export type Encoder = SentenceEncoderRuntime;

/** The thread started, its model loaded and warmed up (its first request). */
export async function loadEncoder(): Promise<Encoder> {
  // A turn's 2 s deadline would end the run on a stalled machine instead of timing it.
  const encoder = createSentenceEncoder({ logger: createLogger({ level: "warn" }), turnTimeoutMs: 60_000 });
  await encoder.embed(["load"], "training");
  return encoder;
}

/** As a turn asks for it. */
export async function embedOne(encoder: Encoder, text: string): Promise<Float32Array> {
  return (await encoder.embed([text], "turn"))[0]!;
}

/**
 * Vectors of `texts`: from the cache (`<cacheBase>.bin` + `.json`, not committed: see
 * data/.gitignore) unless `fresh`, the rest embedded (as a training does) and added to the cache.
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
  for (const [i, vector] of (await encoder.embed(missing, "training")).entries()) vectors.set(missing[i]!, vector);
  const seconds = (performance.now() - started) / 1000;
  for (const t of missing) cache.set(t, vectors.get(t)!);
  const keys = [...cache.keys()];
  const all = new Float32Array(keys.length * DIMENSIONS);
  for (const [i, k] of keys.entries()) all.set(cache.get(k)!, i * DIMENSIONS);
  writeFileSync(`${cacheBase}.json`, JSON.stringify(keys));
  writeFileSync(`${cacheBase}.bin`, Buffer.from(all.buffer));
  return { vectors, seconds, embedded: missing.length, cached: unique.length - missing.length };
}
