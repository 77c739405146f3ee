// A training run in a worker thread of its own (trainer.ts): seconds of CPU off the event loop that
// serves the turns.
import { parentPort, workerData } from "node:worker_threads";
import { trainModel } from "./model.ts";
import { split } from "./stored-model.ts";
import type { TrainingInput } from "./trainer.ts";

const { data, sentenceVectors } = workerData as TrainingInput;
const stored = split(
  trainModel(data.intents, {
    entityTypes: data.entityTypes,
    language: data.language,
    ...(sentenceVectors ? { sentenceVectors } : {}),
  }),
);
parentPort!.postMessage(stored);
