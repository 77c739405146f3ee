import { loadModel, trainModel, type NluModel } from "./model.ts";
import type { TrainingData } from "./training-data.ts";

/**
 * Examples × intents up to which a model is cheap enough to train inside a turn: the cost of
 * training grows with both (about 10 ms at this size here; 150 intents of 20 examples, 450,000,
 * take 20–30 s).
 */
export const QUICK_MODEL_BUDGET = 1_000;

/**
 * What a tenant is answered with while the training job of its current version runs: its full model
 * when that takes milliseconds (a small tenant: the same model the job stores, so a change answers at
 * once); for a larger tenant with no stored model yet, its intents without a classifier, so events
 * and button payloads still select intents and any text gets the fallback (a larger tenant with an
 * older stored model keeps that one meanwhile, store.ts). Never a wait of seconds on the event loop.
 */
export function quickModel(data: TrainingData): NluModel {
  const examples = data.intents.reduce((sum, i) => sum + i.examples.length, 0);
  if (examples * data.intents.length > QUICK_MODEL_BUDGET)
    return loadModel({ intents: data.intents, entityTypes: data.entityTypes, classifier: null });
  return trainModel(data.intents, { entityTypes: data.entityTypes, language: data.language });
}
