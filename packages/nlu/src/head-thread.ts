// The encoder head of a training (trainer.ts), in a thread of its own: it needs nothing of the
// n-gram model, so a retraining (its vectors cached) trains the two on both cores at once.
import { parentPort, workerData } from "node:worker_threads";
import { lowerThreadPriority } from "./thread-priority.ts";
import type { TrainingData } from "./training-data.ts";

// Below the turns' event loop, before its modules load (training-thread.ts says why).
lowerThreadPriority();
const { trainEncoderHead } = await import("./model.ts");

const { intents } = workerData as Pick<TrainingData, "intents">;
parentPort!.once("message", (vectors: ReadonlyMap<string, Float32Array>) => {
  parentPort!.postMessage(trainEncoderHead(intents, vectors)?.toJSON() ?? null);
});
