import { IntentClassifier, type Classification, type SerializedClassifier } from "./classifier.ts";
import { EncoderHead, type SerializedEncoderHead } from "./encoder-head.ts";
import type { EntityTypeDefinition } from "./entities.ts";
import { wordVectorsFor } from "./word-vectors.ts";

export interface ParameterDefinition {
  name: string;
  /** "@sys.number", "@sys.date", "@sys.email", … or "@<custom entity type>". */
  entity: string;
  required?: boolean;
  /** Questions asked, in turn, while the parameter is missing. */
  prompts?: string[];
  isList?: boolean;
}

export interface IntentDefinition {
  name: string;
  examples: string[];
  parameters?: ParameterDefinition[];
  /** Chosen when nothing else matches confidently. */
  isFallback?: boolean;
  /** The intent matches only while all these contexts are active. */
  inputContexts?: string[];
  /** Contexts the intent sets when matched. */
  outputContexts?: { name: string; lifespan: number }[];
  /** Events that trigger it without text (Dialogflow's WELCOME, TELEGRAM_WELCOME, …). */
  events?: string[];
  /** Matching it clears the active contexts first. */
  resetContexts?: boolean;
  /**
   * Dialogflow's priority (500000 normal when absent; 1000000 highest, 250000 low): among intents
   * the text matches about equally well, the higher priority wins. Negative ones never reach a model.
   */
  priority?: number;
}

/** A tenant's trained model: the intent classifier plus what understanding needs beside it. */
export interface NluModel {
  intents: IntentDefinition[];
  entityTypes: EntityTypeDefinition[];
  /** Below this confidence a message is out of scope (with the sentence vector or without). */
  threshold: number;
  /** The sentence encoder whose vector of each message `classify` wants; null when trained without one. */
  readonly encoder: string | null;
  /**
   * Whether `classify` would use the message's sentence vector: the model has an encoder head and the
   * n-gram model is unsure of the text (`isSure`). When false, embedding the message is wasted work.
   */
  needsSentenceVector(text: string): boolean;
  /**
   * Without the vector (encoder off or failed), the n-gram model alone decides, with its own threshold;
   * so it does when it is sure of the text, the vector ignored.
   */
  classify(text: string, sentenceVector?: Float32Array): Classification;
  toJSON(): SerializedModel;
  /** Memory the model holds, in bytes (estimated; the worker's shared word vectors not counted). */
  readonly bytes: number;
}

export interface SerializedModel {
  intents: IntentDefinition[];
  entityTypes: EntityTypeDefinition[];
  classifier: SerializedClassifier | null;
  /** What the model learnt from the sentence encoder's vectors; absent in models trained without them. */
  encoderHead?: SerializedEncoderHead | null;
}

/** The one sentence encoder there is (the Universal Sentence Encoder lite, 512 dimensions); names it in stored models. */
export const SENTENCE_ENCODER = "use-lite-512";

/**
 * How a message's sentence vector joins the n-gram model (`combine`). Chosen on CLINC150's training
 * split (80 examples per intent learnt, 20 judged, with its `oos_train` rows; and 10 per intent
 * learnt, 20 others judged) for the best in-scope accuracy with at least half the out-of-scope rows
 * refused in both, the threshold left at the n-gram model's: the encoder's softmax weighs half, and
 * an intent's confidence is scaled by how much the message resembles its examples, from nothing at a
 * cosine of 0.30 to its centroid to all of it at 0.60 and above.
 */
const ENCODER_WEIGHT = 0.5;
const RESEMBLANCE_FROM = 0.3;
const RESEMBLANCE_TO = 0.6;

/**
 * The n-gram model is sure of a message when its best intent's probability is at least SURE_AT:
 * its answer then stands and the message is not embedded (1–3 ms of CPU a message, 6–15 on TF.js
 * when this was chosen, against ~0.3 ms for the n-gram model). Chosen on CLINC150's training split (as the
 * weights above; in scope / out of scope, share of messages embedded): with all examples 0.7 scores
 * as embedding every message, 97.0% / 54%, embedding 15% of them; with 10 per intent 90.7% / 64%
 * against 91.0% / 64%, embedding 41%. 0.5 would embed 9% and 29% for 0.5 and 0.9 points less in
 * scope; a margin over the second intent on top changed nothing worth it.
 */
export const SURE_AT = 0.7;

/** The gate: whether the n-gram model's own classification is sure enough to stand without the encoder. */
export function isSure(ngram: Classification, sureAt = SURE_AT): boolean {
  return ngram.intent !== null && ngram.confidence >= sureAt;
}

function wrap(
  intents: IntentDefinition[],
  entityTypes: EntityTypeDefinition[],
  classifier: IntentClassifier | null,
  head: EncoderHead | null,
  sureAt = SURE_AT,
): NluModel {
  // The n-gram classification of the last text: a turn asks `needsSentenceVector` and then
  // `classify` (the hybrid path twice) of the same text, and classifying costs ~0.1–0.4 ms each time.
  let last: { text: string; classification: Classification } | undefined;
  const ngram = (text: string): Classification => {
    if (last?.text !== text) last = { text, classification: classifier!.classify(text) };
    return last.classification;
  };
  return {
    intents,
    entityTypes,
    threshold: classifier?.threshold ?? 1,
    encoder: head?.encoder ?? null,
    needsSentenceVector: (text) => head !== null && classifier !== null && !isSure(ngram(text), sureAt),
    classify: (text, sentenceVector) => {
      if (!classifier) return { intent: null, confidence: 0, ranking: [] };
      const alone = ngram(text);
      return head && sentenceVector && !isSure(alone, sureAt)
        ? combine(alone, head, sentenceVector, classifier.threshold)
        : alone;
    },
    toJSON: () => ({
      intents,
      entityTypes,
      classifier: classifier?.toJSON() ?? null,
      ...(head ? { encoderHead: head.toJSON() } : {}),
    }),
    // The definitions as JSON text, two bytes a character: near enough for what they are beside the weights.
    bytes: (classifier?.bytes ?? 0) + (head?.bytes ?? 0) + 2 * JSON.stringify({ intents, entityTypes }).length,
  };
}

/**
 * The n-gram model's probabilities averaged with the encoder softmax's, each scaled by the message's
 * resemblance to the intent's examples (see ENCODER_WEIGHT). The softmaxes alone are sure of
 * unrelated messages as often as of paraphrases; the cosine to the centroid is what refuses them.
 */
function combine(alone: Classification, head: EncoderHead, vector: Float32Array, threshold: number): Classification {
  const { probabilities, similarities } = head.score(vector);
  const ngram = new Map(alone.ranking.map((r) => [r.intent, r.confidence]));
  const ranking = head.classes
    .map((intent, c) => {
      const p = (1 - ENCODER_WEIGHT) * (ngram.get(intent) ?? 0) + ENCODER_WEIGHT * probabilities[c]!;
      const resemblance = (similarities[c]! - RESEMBLANCE_FROM) / (RESEMBLANCE_TO - RESEMBLANCE_FROM);
      return { intent, confidence: p * Math.min(1, Math.max(0, resemblance)) };
    })
    .sort((a, b) => b.confidence - a.confidence);
  const best = ranking[0]!;
  return { intent: best.confidence >= threshold ? best.intent : null, confidence: best.confidence, ranking };
}

/**
 * Word vectors pay off for tenants with many intents and cost out-of-scope recall for small ones.
 * CLINC150 subsets, validation split, without → with: 150 intents × 20 examples: accuracy 79.0% →
 * 81.2%, out-of-scope recall 79% → 70%; 30 × 20: 87.3% → 89.0%, 61% → 60%; 10 × 20: 95% → 95%,
 * 75% → 71%; 10 × 5: 76.5% → 73.5%, 91% → 90%.
 */
const WORD_VECTORS_FROM_INTENTS = 20;

export interface TrainOptions {
  entityTypes?: EntityTypeDefinition[];
  threshold?: number;
  /** The tenant's BCP-47 language: English models of 20 intents or more also learn from pretrained word vectors. Default "en". */
  language?: string;
  /** The encoder's vectors of (some of) the example texts, by text: those sentenceEncoderPlan listed. */
  sentenceVectors?: ReadonlyMap<string, Float32Array>;
  /** The n-gram confidence from which a message is not embedded (SURE_AT; the bench tries others). */
  sureAt?: number;
}

/** Trains a tenant's model from its intents' example phrases (synchronous; seconds for thousands of examples). */
export function trainModel(intents: IntentDefinition[], options: TrainOptions = {}): NluModel {
  const head = options.sentenceVectors ? trainEncoderHead(intents, options.sentenceVectors) : null;
  return trainNgrams(intents, options).withHead(head);
}

/**
 * `trainModel` in two parts that need nothing of each other: the n-gram model, then `withHead` the
 * encoder head (`trainEncoderHead`; null for none). A training job trains the first while the texts
 * are being embedded, and the head in a thread of its own once they are (trainer.ts); the model is
 * trainModel's.
 */
export function trainNgrams(
  intents: IntentDefinition[],
  options: Omit<TrainOptions, "sentenceVectors"> = {},
): { withHead(head: EncoderHead | null): NluModel } {
  const examples = intents.flatMap((intent) => intent.examples.map((text) => ({ text, intent: intent.name })));
  const wordVectors =
    intents.filter((i) => i.examples.length).length >= WORD_VECTORS_FROM_INTENTS
      ? wordVectorsFor(options.language ?? "en")
      : null;
  const classifier = examples.length
    ? IntentClassifier.train(examples, {
        wordVectors,
        ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
      })
    : null;
  return {
    withHead: (head) => wrap(intents, options.entityTypes ?? [], classifier, classifier && head, options.sureAt),
  };
}

/**
 * The encoder head, from the examples that have a vector, over the n-gram model's classes (the
 * intents that have examples, sorted as IntentClassifier sorts them); none unless every one of them
 * has a vector (its centroid would be empty).
 */
export function trainEncoderHead(
  intents: IntentDefinition[],
  sentenceVectors: ReadonlyMap<string, Float32Array>,
): EncoderHead | null {
  const classes = [...new Set(intents.filter((i) => i.examples.length).map((i) => i.name))].sort();
  const vectors: Float32Array[] = [];
  const labels: string[] = [];
  for (const intent of intents)
    for (const text of intent.examples) {
      const vector = sentenceVectors.get(text);
      if (!vector) continue;
      vectors.push(vector);
      labels.push(intent.name);
    }
  const taught = new Set(labels);
  if (!classes.length || !classes.every((c) => taught.has(c))) return null;
  return EncoderHead.train(SENTENCE_ENCODER, vectors, labels, classes);
}

/**
 * Examples embedded per intent at most: training embeds each new text (~4 ms a sentence in batches
 * on the 2-core machine), so 150 intents × 100 examples would add a minute to the first training.
 * CLINC150 (validation split, in scope / out of scope) with all 100: 95.3% / 63%; the first 50:
 * 95.1% / 59%; the first 30: 94.3% / 61%.
 */
const ENCODER_EXAMPLES_PER_INTENT = 50;

/**
 * Whether a tenant's model learns from the sentence encoder, and which example texts it needs
 * embedded: every English tenant (`en`, `en-GB`, …), however small. Small tenants gain the most:
 * CLINC150 subsets, validation split, in scope / out of scope without → with: 5 intents × 10
 * examples 84% / 93% → 94% / 95%; 10 × 5: 89% / 84% → 94.5% / 91%; 10 × 20: 98% / 58% → 99.5% / 83%.
 */
export function sentenceEncoderPlan(
  intents: IntentDefinition[],
  language: string,
): { encoder: string; texts: string[] } | null {
  if (!/^en(-|$)/i.test(language)) return null;
  const texts = new Set(intents.flatMap((i) => i.examples.slice(0, ENCODER_EXAMPLES_PER_INTENT)));
  if (!texts.size) return null;
  return { encoder: SENTENCE_ENCODER, texts: [...texts] };
}

export function loadModel(data: SerializedModel): NluModel {
  return wrap(
    data.intents,
    data.entityTypes,
    data.classifier ? IntentClassifier.load(data.classifier) : null,
    data.encoderHead ? EncoderHead.load(data.encoderHead) : null,
  );
}
