import { seeded, shuffleInPlace } from "./seeded.ts";
import { float32FromBase64, float32ToBase64 } from "./float32-base64.ts";

/**
 * What a tenant's model learns from a sentence encoder's vectors of its examples: a multinomial
 * logistic regression over the (unit-length) vectors, and each intent's centroid, the normalized
 * mean of its examples' vectors. The softmax votes beside the n-gram model; the centroid's cosine to
 * a message says how much the message resembles what the intent was taught with, which is what
 * tells out-of-scope messages apart (`NluModel.classify`). Hand-written for the same reason as the
 * n-gram classifier: a few dozen lines of arithmetic over Float32Arrays.
 */
export interface SerializedEncoderHead {
  version: 1;
  /** The encoder whose vectors it was trained on (SENTENCE_ENCODER). */
  encoder: string;
  classes: string[];
  dimensions: number;
  /** Float32, base64: the softmax's weights (classes × dimensions), then the centroids (as many). */
  weights: string;
}

const EPOCHS = 5;
const L2 = 1e-5;
/** Classes whose gradient is below this are not updated for an example (most of 150, past the first epoch). */
const SKIP_GRADIENT = 1e-4;

export class EncoderHead {
  private constructor(
    readonly encoder: string,
    readonly classes: string[],
    readonly dimensions: number,
    // weights[c * dimensions + d], then centroids[c * dimensions + d], in one buffer.
    private readonly weights: Float32Array,
    private readonly centroids: Float32Array,
  ) {}

  get bytes(): number {
    return this.weights.byteLength + this.centroids.byteLength;
  }

  /**
   * Plain SGD on the cross-entropy loss in a seeded order, no bias (as the n-gram model, so uneven
   * example counts do not pull unknown text). The L2 decay is kept as one factor for all weights,
   * and an example updates only the classes whose gradient is not negligible: that makes training
   * on 150 intents several times faster at the same accuracy.
   */
  static train(encoder: string, vectors: Float32Array[], labels: string[], classes: string[]): EncoderHead {
    const k = classes.length;
    const dimensions = vectors[0]?.length ?? 0;
    const buffer = new Float32Array(2 * k * dimensions);
    const head = new EncoderHead(
      encoder,
      classes,
      dimensions,
      buffer.subarray(0, k * dimensions),
      buffer.subarray(k * dimensions),
    );
    const index = new Map(classes.map((c, i) => [c, i]));
    const y = labels.map((l) => index.get(l)!);
    for (const [n, v] of vectors.entries()) {
      const base = y[n]! * dimensions;
      for (let d = 0; d < dimensions; d++) head.centroids[base + d]! += v[d]!;
    }
    for (let c = 0; c < k; c++) {
      const centroid = head.centroids.subarray(c * dimensions, (c + 1) * dimensions);
      const norm = Math.hypot(...centroid) || 1;
      for (let d = 0; d < dimensions; d++) centroid[d]! /= norm;
    }
    const w = head.weights;
    const order = vectors.map((_, i) => i);
    const active = new Int32Array(k);
    const random = seeded(42);
    let scale = 1;
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      shuffleInPlace(order, random);
      const rate = 4 / (1 + epoch * 0.2);
      for (const n of order) {
        const v = vectors[n]!;
        const p = head.softmax(v, scale);
        p[y[n]!]! -= 1;
        scale *= 1 - rate * L2;
        let count = 0;
        for (let c = 0; c < k; c++) if (Math.abs(p[c]!) > SKIP_GRADIENT) active[count++] = c;
        for (let a = 0; a < count; a++) {
          const c = active[a]!;
          const step = (rate * p[c]!) / scale;
          const base = c * dimensions;
          for (let d = 0; d < dimensions; d++) w[base + d]! -= step * v[d]!;
        }
      }
    }
    for (let i = 0; i < w.length; i++) w[i]! *= scale;
    return head;
  }

  static load(data: SerializedEncoderHead): EncoderHead {
    const buffer = float32FromBase64(data.weights);
    const size = data.classes.length * data.dimensions;
    if (buffer.length !== 2 * size) throw new Error("encoder head: weights do not match its classes and dimensions");
    return new EncoderHead(
      data.encoder,
      data.classes,
      data.dimensions,
      buffer.subarray(0, size),
      buffer.subarray(size),
    );
  }

  toJSON(): SerializedEncoderHead {
    const buffer = new Float32Array(this.weights.length + this.centroids.length);
    buffer.set(this.weights);
    buffer.set(this.centroids, this.weights.length);
    return {
      version: 1,
      encoder: this.encoder,
      classes: this.classes,
      dimensions: this.dimensions,
      weights: float32ToBase64(buffer),
    };
  }

  /** Per class (in `classes` order): the softmax's probability and the cosine of the vector to the class's centroid. */
  score(vector: Float32Array): { probabilities: Float64Array; similarities: Float64Array } {
    if (vector.length !== this.dimensions)
      throw new Error(`encoder head: a vector of ${vector.length} dimensions, ${this.dimensions} expected`);
    const similarities = new Float64Array(this.classes.length);
    for (let c = 0; c < this.classes.length; c++) similarities[c] = this.dot(this.centroids, c, vector);
    return { probabilities: this.softmax(vector, 1), similarities };
  }

  private dot(matrix: Float32Array, c: number, v: Float32Array): number {
    const base = c * this.dimensions;
    let sum = 0;
    for (let d = 0; d < this.dimensions; d++) sum += matrix[base + d]! * v[d]!;
    return sum;
  }

  private softmax(v: Float32Array, scale: number): Float64Array {
    const k = this.classes.length;
    const scores = new Float64Array(k);
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      scores[c] = this.dot(this.weights, c, v) * scale;
      max = Math.max(max, scores[c]!);
    }
    let sum = 0;
    for (let c = 0; c < k; c++) {
      scores[c] = Math.exp(scores[c]! - max);
      sum += scores[c]!;
    }
    for (let c = 0; c < k; c++) scores[c]! /= sum;
    return scores;
  }
}
