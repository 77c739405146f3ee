// `npm run bench:nlu [-- <file>] [--shots N] [--language en]`: trains a tenant's model (`trainModel`,
// as a worker does) on the `train` split of a CLINC150-format file and evaluates on `test` /
// `oos_test` when present, else `val` / `oos_val`; a file without out-of-scope rows reports their
// recall as null. `--shots N` keeps N training examples per intent, drawn with a fixed seed, so runs
// compare. Prints one JSON line, then a summary. Only `train` is learnt from; out-of-scope rows are
// never seen in training.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { trainModel, type IntentDefinition } from "../src/model.ts";
import { wordVectorsFor } from "../src/word-vectors.ts";

// The default data set is the copy of CLINC150 kept beside this script (bench/data/SOURCES.md).
const defaultData = new URL("./data/data_train_val.json", import.meta.url);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: "string" },
    shots: { type: "string" },
    threshold: { type: "string" },
    language: { type: "string", default: "en" },
  },
});
type Row = [string, string];
const data = JSON.parse(readFileSync(positionals[0] ?? values.data ?? defaultData, "utf8")) as Record<string, Row[]>;
const inScope = data.test ?? data.val;
const outOfScope = data.oos_test ?? data.oos_val ?? [];
if (!data.train || !inScope) throw new Error("the file needs `train` and `test` (or `val`) splits");
for (const rows of [data.train, inScope, outOfScope])
  if (!rows.every((row) => typeof row[0] === "string" && typeof row[1] === "string"))
    throw new Error("every row must be [text, intent], two strings");
const shots = values.shots === undefined ? null : Number(values.shots);
if (shots !== null && !(Number.isInteger(shots) && shots > 0)) throw new Error("--shots needs a positive integer");

/** Each intent's examples in file order, shuffled with a fixed seed (mulberry32) when only `shots` are kept. */
function intentsOf(rows: Row[]): IntentDefinition[] {
  const byIntent = new Map<string, string[]>();
  for (const [text, intent] of rows) byIntent.set(intent, [...(byIntent.get(intent) ?? []), text]);
  let seed = 20261208;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return [...byIntent].map(([name, examples]) => {
    if (shots === null) return { name, examples };
    const shuffled = [...examples];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    return { name, examples: shuffled.slice(0, shots) };
  });
}

// Word vectors are loaded (and built, on a fresh install) before the clock starts: a worker loads them once.
wordVectorsFor(values.language);
const intents = intentsOf(data.train);
const started = performance.now();
const model = trainModel(intents, {
  language: values.language,
  ...(values.threshold ? { threshold: Number(values.threshold) } : {}),
});
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
  modelMb: Number((model.bytes / 1024 / 1024).toFixed(1)),
  split: data.test ? "test" : "val",
  shots,
  examples: intents.reduce((sum, i) => sum + i.examples.length, 0),
  threshold: model.threshold,
};
console.log(JSON.stringify(figures));
console.log(
  `${figures.split}${shots === null ? "" : `, ${shots} examples per intent`}: in-scope accuracy ${(figures.inScopeAccuracy * 100).toFixed(1)}%, out-of-scope recall ${figures.oosRecall === null ? "n/a" : `${(figures.oosRecall * 100).toFixed(1)}%`}; ` +
    `trained in ${figures.trainSeconds} s; classification p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms; model ${figures.modelMb} MB, RSS ${figures.rssMb} MB`,
);
