// A training run in a worker thread of its own (trainer.ts): seconds of CPU off the event loop that
// serves the turns.
import { parentPort, workerData } from "node:worker_threads";
import { trainModel } from "./model.ts";
import { split } from "./stored-model.ts";
import type { TrainingData } from "./training-data.ts";

const data = workerData as TrainingData;
const stored = split(trainModel(data.intents, { entityTypes: data.entityTypes, language: data.language }));
parentPort!.postMessage(stored);
