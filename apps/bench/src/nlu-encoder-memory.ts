// `npm run bench:nlu-encoder-memory`: what the sentence encoder alone adds to a process's RSS (no
// database, no models): at start, once loaded, after 300 turns, after TEXTS training texts (3,000
// unless set) in batches of BATCH (64 unless set), and after 300 turns more; with the thread's
// default heap bounds, or none (LIMITS=off). During the training, a turn every 50 ms (one at a time):
// how long a turn waits behind the training's batches. Prints one JSON line.
import { createSentenceEncoder } from "@cb/nlu";
import { exposedGc, readClinc, rssMbAfterGc } from "./nlu-load.ts";

const gc = exposedGc("bench:nlu-encoder-memory");
const rssMb = () => rssMbAfterGc(gc);
const batchSize = Number(process.env.BATCH ?? 64);
const count = Number(process.env.TEXTS ?? 3000);
const limits = process.env.LIMITS !== "off";
const clinc = readClinc();
const training = clinc.trainingTexts.slice(0, count);
const turns = clinc.phrases;

const startMb = rssMb();
const encoder = createSentenceEncoder({
  batchSize,
  ...(limits ? {} : { resourceLimits: {} }),
});
await encoder.embed(["load"]);
const loadedMb = rssMb();
for (const text of turns.slice(0, 300)) await encoder.embed([text]);
const turnsMb = rssMb();
let started = performance.now();
let trained = false;
const during: number[] = [];
const turnsDuring = (async () => {
  for (let i = 0; !trained; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const asked = performance.now();
    await encoder.embed([turns[600 + (i % 300)]!]);
    if (!trained) during.push(performance.now() - asked);
  }
})();
await encoder.embed(training, "training");
const trainingMs = Math.round(performance.now() - started);
trained = true;
await turnsDuring;
during.sort((a, b) => a - b);
const trainedMb = rssMb();
const latencies: number[] = [];
for (const text of turns.slice(300, 600)) {
  started = performance.now();
  await encoder.embed([text]);
  latencies.push(performance.now() - started);
}
latencies.sort((a, b) => a - b);
const endMb = rssMb();
await encoder.close();
console.log(
  JSON.stringify({
    batchSize,
    limits,
    texts: training.length,
    startMb,
    loadedMb,
    after300TurnsMb: turnsMb,
    afterTrainingMb: trainedMb,
    after300MoreTurnsMb: endMb,
    encoderMb: endMb - startMb,
    trainingMsPerText: Math.round((trainingMs / training.length) * 10) / 10,
    turnP50Ms: Math.round(latencies[150]! * 10) / 10,
    turnP99Ms: Math.round(latencies[296]! * 10) / 10,
    turnsDuringTraining: during.length,
    duringTrainingP50Ms: Math.round(during[Math.floor(during.length / 2)]! * 10) / 10,
    duringTrainingP99Ms: Math.round(during[Math.floor(during.length * 0.99)]! * 10) / 10,
    threads: encoder.stats().threads,
  }),
);
