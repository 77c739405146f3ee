import type { SerializedClassifier } from "./classifier.ts";
import { loadModel, type NluModel, type SerializedModel } from "./model.ts";

/** A model as the `NluModel` table keeps it: JSON for what is small, raw float32 bytes for the weights. */
export interface StoredModel {
  definition: object;
  weights: Uint8Array<ArrayBuffer>;
}

export function split(model: NluModel): StoredModel {
  const { classifier, ...rest } = model.toJSON();
  if (!classifier) return { definition: { ...rest, classifier: null }, weights: new Uint8Array(0) };
  const { weights, ...meta } = classifier;
  // A copy of its own (Buffer.from may hand out a slice of a shared pool), so it can be transferred.
  return { definition: { ...rest, classifier: meta }, weights: new Uint8Array(Buffer.from(weights, "base64")) };
}

export function join(definition: unknown, weights: Uint8Array): NluModel {
  const d = definition as Omit<SerializedModel, "classifier"> & {
    classifier: Omit<SerializedClassifier, "weights"> | null;
  };
  return loadModel({
    ...d,
    classifier: d.classifier ? { ...d.classifier, weights: Buffer.from(weights).toString("base64") } : null,
  });
}
