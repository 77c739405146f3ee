// A training run in a worker thread of its own (trainer.ts): seconds of CPU off the event loop that
// serves the turns.
import { parentPort, workerData } from "node:worker_threads";
import { trainNgrams } from "./model.ts";
import { split } from "./stored-model.ts";
import type { TrainingInput } from "./trainer.ts";

const { data, sentenceVectors, vectorsFollow } = workerData as TrainingInput;
const ngrams = trainNgrams(data.intents, { entityTypes: data.entityTypes, language: data.language });
// The encoder's vectors, when they are still being embedded as the n-gram model trained: posted by trainer.ts.
const vectors: ReadonlyMap<string, Float32Array> | undefined = vectorsFollow
  ? await new Promise((resolve) => parentPort!.once("message", resolve))
  : sentenceVectors;
parentPort!.postMessage(split(ngrams.withHead(vectors)));
