// The model report's cross-validation, in a worker thread of its own (evaluation.ts): it trains
// several models, seconds to minutes of CPU that would otherwise stall every turn on the worker.
import { parentPort, workerData } from "node:worker_threads";
import { crossValidate } from "./evaluate.ts";

const { intents, entityTypes, language, sentenceVectors } = workerData as Parameters<typeof crossValidate>[1] & {
  intents: Parameters<typeof crossValidate>[0];
};
parentPort!.postMessage(
  crossValidate(intents, { entityTypes, language, ...(sentenceVectors ? { sentenceVectors } : {}) }),
);
