// A training run in a worker thread of its own (trainer.ts): seconds of CPU off the event loop that
// serves the turns.
import { parentPort, workerData } from "node:worker_threads";
import type { SerializedEncoderHead } from "./encoder-head.ts";
import { lowerThreadPriority } from "./thread-priority.ts";
import type { TrainingInput } from "./trainer.ts";

// Below the turns' event loop (thread-priority.ts) before the modules it trains with are loaded:
// loading them is a second of CPU too.
lowerThreadPriority();
const [{ EncoderHead }, { trainNgrams }, { split }] = await Promise.all([
  import("./encoder-head.ts"),
  import("./model.ts"),
  import("./stored-model.ts"),
]);

const { data, headFollows } = workerData as TrainingInput;
const ngrams = trainNgrams(data.intents, { entityTypes: data.entityTypes, language: data.language });
// The encoder head, trained in its thread meanwhile (head-thread.ts), is posted here by trainer.ts.
const head: SerializedEncoderHead | null = headFollows
  ? await new Promise((resolve) => parentPort!.once("message", resolve))
  : null;
parentPort!.postMessage(split(ngrams.withHead(head && EncoderHead.load(head))));
