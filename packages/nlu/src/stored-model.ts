import type { SerializedClassifier } from "./classifier.ts";
import { loadModel, type NluModel, type SerializedModel } from "./model.ts";

/**
 * A model as the `NluModel` table keeps it, in the text forms PostgreSQL reads and writes itself:
 * JSON for what is small, the float32 weights in base64 (decoded into bytea by the database). A
 * 150-intent model's 15 MB of weights then cross the event loop as one string each way, never
 * through a JSON or bytea conversion of their own (seconds, through Prisma).
 */
export type StoredModel = {
  definition: string;
  weights: string;
};

export function split(model: NluModel): StoredModel {
  const { classifier, ...rest } = model.toJSON();
  if (!classifier) return { definition: JSON.stringify({ ...rest, classifier: null }), weights: "" };
  const { weights, ...meta } = classifier;
  return { definition: JSON.stringify({ ...rest, classifier: meta }), weights };
}

export function join(stored: StoredModel): NluModel {
  const d = JSON.parse(stored.definition) as Omit<SerializedModel, "classifier"> & {
    classifier: Omit<SerializedClassifier, "weights"> | null;
  };
  return loadModel({ ...d, classifier: d.classifier ? { ...d.classifier, weights: stored.weights } : null });
}
