// `npm run bench:nlu [-- --data <file>]`: trains on the `train` split of a CLINC150-format file and
// evaluates on `test` / `oos_test` when present, else `val` / `oos_val`. Prints one JSON line, then a
// summary. Only `train` is learnt from; out-of-scope rows are never seen in training.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { IntentClassifier } from "../src/classifier.ts";
import { wordVectorsFor } from "../src/word-vectors.ts";

// The default data set is the copy of CLINC150 kept beside this script (bench/data/SOURCES.md).
const defaultData = new URL("./data/data_train_val.json", import.meta.url);

const { values } = parseArgs({
  options: {
    data: { type: "string" },
    threshold: { type: "string" },
    epochs: { type: "string" },
    language: { type: "string", default: "en" },
  },
});
type Row = [string, string];
const data = JSON.parse(readFileSync(values.data ?? defaultData, "utf8")) as Record<string, Row[]>;
const inScope = data.test ?? data.val;
const outOfScope = data.oos_test ?? data.oos_val ?? [];
if (!data.train || !inScope) throw new Error("the file needs `train` and `test` (or `val`) splits");

// Word vectors are loaded (and built, on a fresh install) before the clock starts: a worker loads them once.
const wordVectors = wordVectorsFor(values.language);
const started = performance.now();
const model = IntentClassifier.train(
  data.train.map(([text, intent]) => ({ text, intent })),
  {
    wordVectors,
    ...(values.threshold ? { threshold: Number(values.threshold) } : {}),
    ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
  },
);
const trainSeconds = (performance.now() - started) / 1000;

const latencies: number[] = [];
const classify = (text: string) => {
  const t = performance.now();
  const result = model.classify(text);
  latencies.push(performance.now() - t);
  return result.intent;
};
const correct = inScope.filter(([text, intent]) => classify(text) === intent).length;
const recalled = outOfScope.filter(([text]) => classify(text) === null).length;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(3));

const figures = {
  inScopeAccuracy: Number((correct / inScope.length).toFixed(4)),
  oosRecall: outOfScope.length ? Number((recalled / outOfScope.length).toFixed(4)) : null,
  trainSeconds: Number(trainSeconds.toFixed(2)),
  p50Ms: pct(0.5),
  p99Ms: pct(0.99),
  rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
  split: data.test ? "test" : "val",
  threshold: model.threshold,
};
console.log(JSON.stringify(figures));
console.log(
  `${figures.split}: in-scope accuracy ${(figures.inScopeAccuracy * 100).toFixed(1)}%, out-of-scope recall ${figures.oosRecall === null ? "n/a" : `${(figures.oosRecall * 100).toFixed(1)}%`}; ` +
    `trained in ${figures.trainSeconds} s; classification p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms; RSS ${figures.rssMb} MB`,
);
