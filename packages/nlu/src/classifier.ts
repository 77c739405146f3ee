import { featureCounts } from "./text.ts";

/**
 * TF-IDF features and a multinomial logistic regression, trained per tenant from its example
 * phrases. Written by hand: the maths is a few dozen lines over sparse vectors, and the JS
 * machine-learning libraries on npm either want dense matrices (far too large for n-gram
 * vocabularies) or a native / GPU runtime this project cannot ship.
 */
export interface Example {
  text: string;
  intent: string;
}

export interface Classification {
  /** The best intent, or null when nothing is confident enough (out of scope). */
  intent: string | null;
  confidence: number;
  ranking: { intent: string; confidence: number }[];
}

export interface ClassifierOptions {
  /** Below this probability the answer is "out of scope". */
  threshold?: number;
  epochs?: number;
  l2?: number;
}

interface SparseVector {
  index: Int32Array;
  value: Float32Array;
}

export interface SerializedClassifier {
  version: 1;
  classes: string[];
  vocabulary: string[];
  idf: number[];
  weights: string;
  bias: number[];
  threshold: number;
}

export class IntentClassifier {
  private readonly featureIndex: Map<string, number>;
  private readonly maxIdf: number;

  private constructor(
    readonly classes: string[],
    private readonly vocabulary: string[],
    private readonly idf: Float32Array,
    // weights[f * classes + c]: every class's weight for one feature sits together, which is how
    // both scoring and training walk them.
    private readonly weights: Float32Array,
    private readonly bias: Float32Array,
    readonly threshold: number,
  ) {
    this.featureIndex = new Map(vocabulary.map((f, i) => [f, i]));
    this.maxIdf = idf.reduce((max, v) => Math.max(max, v), 0);
  }

  static train(examples: Example[], options: ClassifierOptions = {}): IntentClassifier {
    const classes = [...new Set(examples.map((e) => e.intent))].sort();
    if (classes.length === 0) throw new Error("no training examples");
    const counts = examples.map((e) => featureCounts(e.text));
    const df = new Map<string, number>();
    for (const c of counts) for (const f of c.keys()) df.set(f, (df.get(f) ?? 0) + 1);
    const vocabulary = [...df.keys()];
    const idf = Float32Array.from(vocabulary, (f) => Math.log((1 + examples.length) / (1 + df.get(f)!)) + 1);
    // With few intents even a blind guess scores high (1/3 with three), so the bar rises toward 2.5×
    // the uniform level (at most 0.7); with ten or more intents the fixed 0.25 rules.
    const threshold = options.threshold ?? Math.max(0.25, Math.min(0.7, 2.5 / classes.length));
    const model = new IntentClassifier(classes, vocabulary, idf, new Float32Array(vocabulary.length * classes.length), new Float32Array(classes.length), threshold);
    const vectors = counts.map((c) => model.vectorize(c));
    const labels = examples.map((e) => classes.indexOf(e.intent));
    model.fit(vectors, labels, options.epochs ?? 15, options.l2 ?? 1e-5);
    return model;
  }

  static load(data: SerializedClassifier): IntentClassifier {
    const buffer = Buffer.from(data.weights, "base64");
    const weights = new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
    return new IntentClassifier(data.classes, data.vocabulary, Float32Array.from(data.idf), weights, Float32Array.from(data.bias), data.threshold);
  }

  toJSON(): SerializedClassifier {
    return {
      version: 1,
      classes: this.classes,
      vocabulary: this.vocabulary,
      idf: [...this.idf],
      weights: Buffer.from(this.weights.buffer, this.weights.byteOffset, this.weights.byteLength).toString("base64"),
      bias: [...this.bias],
      threshold: this.threshold,
    };
  }

  classify(text: string): Classification {
    const probabilities = this.probabilities(this.vectorize(featureCounts(text)));
    const ranking = this.classes.map((intent, c) => ({ intent, confidence: probabilities[c]! })).sort((a, b) => b.confidence - a.confidence);
    const best = ranking[0]!;
    return { intent: best.confidence >= this.threshold ? best.intent : null, confidence: best.confidence, ranking };
  }

  /**
   * Sublinear TF-IDF, L2-normalized. Features unseen in training have no weight to meet, but they
   * still count in the norm (as the rarest known feature would): a message made mostly of unknown
   * words keeps only a short vector, so its scores stay near zero and its confidence low. That is
   * what lets out-of-scope messages fall to the fallback even for a tenant with little data.
   */
  private vectorize(counts: Map<string, number>): SparseVector {
    const index: number[] = [];
    const value: number[] = [];
    let unknown = 0;
    for (const [f, n] of counts) {
      const i = this.featureIndex.get(f);
      if (i === undefined) {
        unknown += ((1 + Math.log(n)) * this.maxIdf) ** 2;
        continue;
      }
      index.push(i);
      value.push((1 + Math.log(n)) * this.idf[i]!);
    }
    const norm = Math.sqrt(value.reduce((sum, v) => sum + v * v, unknown)) || 1;
    return { index: Int32Array.from(index), value: Float32Array.from(value, (v) => v / norm) };
  }

  private probabilities(x: SparseVector): Float64Array {
    const k = this.classes.length;
    const scores = Float64Array.from(this.bias);
    for (let j = 0; j < x.index.length; j++) {
      const base = x.index[j]! * k;
      const v = x.value[j]!;
      for (let c = 0; c < k; c++) scores[c]! += this.weights[base + c]! * v;
    }
    let max = -Infinity;
    for (const s of scores) max = Math.max(max, s);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += scores[c] = Math.exp(scores[c]! - max);
    for (let c = 0; c < k; c++) scores[c]! /= sum;
    return scores;
  }

  /**
   * Plain SGD on the cross-entropy loss with a decaying step, in a seeded shuffled order. The bias
   * stays zero on purpose: learnt from a tenant's uneven example counts, it would hand unknown
   * text to whichever intent has the most examples.
   */
  private fit(vectors: SparseVector[], labels: number[], epochs: number, l2: number): void {
    const k = this.classes.length;
    const order = vectors.map((_, i) => i);
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const rate = 2 / (1 + epoch * 0.2);
      for (const n of order) {
        const x = vectors[n]!;
        const p = this.probabilities(x);
        p[labels[n]!]! -= 1;
        for (let j = 0; j < x.index.length; j++) {
          const base = x.index[j]! * k;
          const v = x.value[j]!;
          for (let c = 0; c < k; c++) this.weights[base + c]! -= rate * (p[c]! * v + l2 * this.weights[base + c]!);
        }
      }
    }
  }
}
