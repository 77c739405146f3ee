// The model report's cross-validation, in a worker thread of its own (evaluation.ts): it trains
// several models, seconds to minutes of CPU that would otherwise stall every turn on the worker.
import { parentPort, workerData } from "node:worker_threads";
import type { crossValidate as CrossValidate } from "./evaluate.ts";
import { lowerThreadPriority } from "./thread-priority.ts";

// Below the turns' event loop, before its modules load (training-thread.ts says why).
lowerThreadPriority();
const { crossValidate } = await import("./evaluate.ts");

const { intents, entityTypes, language, sentenceVectors } = workerData as Parameters<typeof CrossValidate>[1] & {
  intents: Parameters<typeof CrossValidate>[0];
};
parentPort!.postMessage(
  crossValidate(intents, { entityTypes, language, ...(sentenceVectors ? { sentenceVectors } : {}) }),
);
