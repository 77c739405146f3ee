import type { EntityTypeDefinition } from "./entities.ts";
import { trainModel, type IntentDefinition } from "./model.ts";
import { seeded, shuffleInPlace } from "./seeded.ts";

/** Below this many examples an intent is listed as having too few (Dialogflow asks for 10–20; few-shot models manage 5). */
export const TOO_FEW_EXAMPLES = 5;
/** At most this many folds; an intent with fewer examples is in fewer of them (each example tested once). */
export const MAX_FOLDS = 5;
const CONFUSIONS_LISTED = 20;
const PHRASES_PER_CONFUSION = 3;

export interface IntentScore {
  intent: string;
  examples: number;
  /** Examples tested (an intent needs two to be tested: one to train on, one to test). */
  tested: number;
  correct: number;
  /** correct / tested; null when none could be tested. */
  accuracy: number | null;
}

export interface Confusion {
  intent: string;
  /** What its examples were taken for; null: no intent was confident enough (the fallback). */
  predicted: string | null;
  count: number;
  /** Some of the phrases so taken. */
  phrases: string[];
}

export interface EvaluationReport {
  folds: number;
  /** Examples tested, all intents together, and the share classified as their own intent. */
  tested: number;
  accuracy: number | null;
  intents: IntentScore[];
  /** Pairs of intents most often confused, most first. */
  confusions: Confusion[];
  tooFewExamples: { intent: string; examples: number }[];
}

/** Shares to four places: a report needs no more, and a stored one reads back exactly as computed. */
const share = (part: number, whole: number) => (whole ? Math.round((part / whole) * 1e4) / 1e4 : null);

/**
 * Stratified k-fold cross-validation on a tenant's own examples: each intent's examples, shuffled
 * with a fixed seed, are dealt round the folds, so every fold holds a share of every intent and an
 * intent with fewer examples than folds has each tested once with the rest trained on. Each fold
 * trains a model as the tenant's is trained (`trainModel`) on the other folds and classifies its own.
 * With `sentenceVectors` (the tenant's cached encoder vectors), each fold's model learns from those of
 * its training examples and classifies each test with its vector, as the tenant's model does a turn
 * (the vector weighs only where the n-gram model is unsure, the gate `classify` applies itself).
 */
export function crossValidate(
  intents: IntentDefinition[],
  options: {
    entityTypes?: EntityTypeDefinition[];
    language?: string;
    folds?: number;
    seed?: number;
    sentenceVectors?: ReadonlyMap<string, Float32Array>;
  } = {},
): EvaluationReport {
  const vectors = options.sentenceVectors;
  const random = seeded(options.seed ?? 7);
  // By name: the report does not depend on the order the intents come in.
  const trained = intents
    .filter((i) => !i.isFallback && i.examples.length > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
  const largest = Math.max(0, ...trained.map((i) => i.examples.length));
  const folds = Math.max(2, Math.min(options.folds ?? MAX_FOLDS, largest));
  // fold → the examples it tests; an intent with a single example is only ever trained on.
  const dealt = trained.map((intent) => ({
    intent,
    byFold: shuffleInPlace([...intent.examples], random).map((text, n) => ({ text, fold: n % folds })),
  }));
  const scores = new Map(trained.map((i) => [i.name, { tested: 0, correct: 0 }]));
  const confused = new Map<string, Confusion>();
  for (let fold = 0; fold < folds; fold++) {
    const tests = dealt.flatMap(({ intent, byFold }) =>
      intent.examples.length >= 2 ? byFold.filter((e) => e.fold === fold).map((e) => ({ ...e, intent })) : [],
    );
    if (!tests.length) continue;
    const model = trainModel(
      dealt.map(({ intent, byFold }) => ({
        ...intent,
        examples: byFold.filter((e) => e.fold !== fold || intent.examples.length < 2).map((e) => e.text),
      })),
      {
        ...(options.entityTypes ? { entityTypes: options.entityTypes } : {}),
        language: options.language ?? "en",
        ...(vectors ? { sentenceVectors: vectors } : {}),
      },
    );
    for (const test of tests) {
      const predicted = model.classify(test.text, vectors?.get(test.text)).intent;
      const score = scores.get(test.intent.name)!;
      score.tested++;
      if (predicted === test.intent.name) {
        score.correct++;
        continue;
      }
      const key = JSON.stringify([test.intent.name, predicted]);
      const entry = confused.get(key) ?? { intent: test.intent.name, predicted, count: 0, phrases: [] };
      entry.count++;
      if (entry.phrases.length < PHRASES_PER_CONFUSION) entry.phrases.push(test.text);
      confused.set(key, entry);
    }
  }
  const tested = [...scores.values()].reduce((n, s) => n + s.tested, 0);
  const correct = [...scores.values()].reduce((n, s) => n + s.correct, 0);
  return {
    folds,
    tested,
    accuracy: share(correct, tested),
    intents: trained.map((i) => {
      const s = scores.get(i.name)!;
      return { intent: i.name, examples: i.examples.length, ...s, accuracy: share(s.correct, s.tested) };
    }),
    confusions: [...confused.values()]
      .sort((a, b) => b.count - a.count || a.intent.localeCompare(b.intent))
      .slice(0, CONFUSIONS_LISTED),
    // An intent only events trigger (a welcome) needs no examples. Fewest first.
    tooFewExamples: intents
      .filter((i) => !i.isFallback && i.examples.length < TOO_FEW_EXAMPLES && !(!i.examples.length && i.events?.length))
      .map((i) => ({ intent: i.name, examples: i.examples.length }))
      .sort((a, b) => a.examples - b.examples || a.intent.localeCompare(b.intent)),
  };
}
