// `npm run bench:nlu [-- <file>] [--shots N] [--intents N] [--language en] [--encoder [--fresh] [--sure-at G]] [--dev]`:
// trains a tenant's model (`trainModel`, as a worker does) on the `train` split of a CLINC150-format file
// and evaluates on `test` / `oos_test` when present, else `val` / `oos_val`; a file without out-of-scope
// rows reports their recall as null. `--shots N` keeps N training examples per intent, drawn with a fixed
// seed, so runs compare; `--intents N` the first N intents (in file order), judged on their rows and all
// the out-of-scope ones. `--dev` judges on training rows instead, for choosing settings without looking at
// the evaluation split: a fifth of each intent's examples held out of training (with `--shots`, 20 of those
// not drawn) and `oos_train`. `--encoder` adds the sentence encoder as a worker would
// (`sentenceEncoderPlan`, vectors of the planned texts, `classify(text, vector)`): the training time
// includes embedding the planned texts (their vectors are cached beside the data; `--fresh` embeds them all
// again, as a tenant's first training does), and each message the model asks for (`needsSentenceVector`:
// the n-gram model unsure of it) is embedded alone on the encoder's thread, as a turn's is, timed with
// its classification (`encoderLoadSeconds`: the thread's start, the model's load and its warm-up); `--sure-at G` tries
// another gate than SURE_AT (`Infinity`: every message embedded). Prints one JSON line, then a summary. Out-of-scope rows are never seen in training.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { SURE_AT, sentenceEncoderPlan, trainModel, type IntentDefinition } from "../src/model.ts";
import { seeded, shuffleInPlace } from "../src/seeded.ts";
import { wordVectorsFor } from "../src/word-vectors.ts";

// The default data set is the copy of CLINC150 kept beside this script (bench/data/SOURCES.md).
const defaultData = new URL("./data/data_train_val.json", import.meta.url);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: "string" },
    shots: { type: "string" },
    intents: { type: "string" },
    threshold: { type: "string" },
    "sure-at": { type: "string" },
    language: { type: "string", default: "en" },
    encoder: { type: "boolean", default: false },
    fresh: { type: "boolean", default: false },
    dev: { type: "boolean", default: false },
  },
});
type Row = [string, string];
const dataFile = positionals[0] ?? values.data ?? defaultData;
const data = JSON.parse(readFileSync(dataFile, "utf8")) as Record<string, Row[]>;
if (!data.train || !(data.test ?? data.val)) throw new Error("the file needs `train` and `test` (or `val`) splits");
for (const rows of [data.train, data.test ?? data.val!, data.oos_test ?? data.oos_val ?? [], data.oos_train ?? []])
  if (!rows.every((row) => typeof row[0] === "string" && typeof row[1] === "string"))
    throw new Error("every row must be [text, intent], two strings");
const positive = (name: string) => {
  const value = values[name as "shots"];
  if (value === undefined) return null;
  const n = Number(value);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`--${name} needs a positive integer`);
  return n;
};
const shots = positive("shots");
const keptIntents = positive("intents");

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
  const intents = [...byIntent].map(([name, examples]) => {
    if (shots === null) return { name, examples };
    return { name, examples: shuffleInPlace([...examples], random).slice(0, shots) };
  });
  return keptIntents === null ? intents : intents.slice(0, keptIntents);
}

/** `--dev`: a fifth of each intent's training rows held out (with `--shots`, 20 of those not drawn), and `oos_train`. */
function heldOutOfTraining(intents: IntentDefinition[]): {
  intents: IntentDefinition[];
  inScope: Row[];
  outOfScope: Row[];
} {
  const random = seeded(7);
  const inScope: Row[] = [];
  const all = new Map<string, string[]>();
  for (const [text, intent] of data.train!) all.set(intent, [...(all.get(intent) ?? []), text]);
  const kept = intents.map(({ name, examples }) => {
    if (shots === null) {
      const shuffled = shuffleInPlace([...examples], random);
      const fifth = Math.floor(examples.length / 5);
      inScope.push(...shuffled.slice(0, fifth).map((text): Row => [text, name]));
      return { name, examples: shuffled.slice(fifth) };
    }
    const drawn = new Set(examples);
    const rest = shuffleInPlace(
      all.get(name)!.filter((text) => !drawn.has(text)),
      random,
    );
    inScope.push(...rest.slice(0, 20).map((text): Row => [text, name]));
    return { name, examples };
  });
  return { intents: kept, inScope, outOfScope: data.oos_train ?? [] };
}

const drawn = intentsOf(data.train);
const judged = values.dev
  ? heldOutOfTraining(drawn)
  : { intents: drawn, inScope: data.test ?? data.val!, outOfScope: data.oos_test ?? data.oos_val ?? [] };
const intents = judged.intents;
const names = new Set(intents.map((i) => i.name));
const inScope = judged.inScope.filter(([, intent]) => names.has(intent));
const outOfScope = judged.outOfScope;
const split = values.dev ? "train-held-out" : data.test ? "test" : "val";

// Word vectors (and the encoder) are loaded before the clock starts: a worker loads them once.
wordVectorsFor(values.language);
const encoderRun = values.encoder ? await prepareEncoder() : null;
const started = performance.now();
const model = trainModel(intents, {
  language: values.language,
  ...(values.threshold ? { threshold: Number(values.threshold) } : {}),
  ...(values["sure-at"] ? { sureAt: Number(values["sure-at"]) } : {}),
  ...(encoderRun?.vectors ? { sentenceVectors: encoderRun.vectors } : {}),
});
const trainSeconds = (performance.now() - started) / 1000 + (encoderRun?.embedSeconds ?? 0);

/** `--encoder`: the encoder loaded, and the planned texts' vectors (from the cache, or embedded and timed). */
async function prepareEncoder() {
  const { embedCached, embedOne, loadEncoder } = await import("./use-encoder.ts");
  const loadStarted = performance.now();
  const encoder = await loadEncoder();
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const plan = sentenceEncoderPlan(intents, values.language);
  const cacheBase = `${dataFile instanceof URL ? dataFile.pathname : dataFile}.use-cache`;
  const cached = plan ? await embedCached(encoder, plan.texts, cacheBase, values.fresh) : null;
  return {
    loadSeconds,
    planned: plan?.texts.length ?? 0,
    vectors: cached?.vectors ?? null,
    embedSeconds: cached?.seconds ?? 0,
    embedded: cached?.embedded ?? 0,
    cached: cached?.cached ?? 0,
    embed: (text: string) => embedOne(encoder, text),
    close: () => encoder.close(),
  };
}

const latencies: number[] = [];
const classifyLatencies: number[] = [];
let embeddedMessages = 0;
/** As a turn does: the message embedded (when the model wants it) and classified, timed together and alone. */
const classify = async (text: string) => {
  const t = performance.now();
  const wanted = model.encoder && encoderRun && model.needsSentenceVector(text);
  if (wanted) embeddedMessages++;
  const embedStarted = performance.now();
  const vector = wanted ? await encoderRun.embed(text) : undefined;
  const embedding = performance.now() - embedStarted;
  const result = model.classify(text, vector);
  latencies.push(performance.now() - t);
  classifyLatencies.push(performance.now() - t - embedding);
  return result.intent;
};
let correct = 0;
for (const [text, intent] of inScope) if ((await classify(text)) === intent) correct++;
let recalled = 0;
for (const [text] of outOfScope) if ((await classify(text)) === null) recalled++;
const pct = (p: number, of = latencies) => {
  const sorted = [...of].sort((a, b) => a - b);
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(3));
};

const figures = {
  inScopeAccuracy: Number((correct / inScope.length).toFixed(4)),
  oosRecall: outOfScope.length ? Number((recalled / outOfScope.length).toFixed(4)) : null,
  trainSeconds: Number(trainSeconds.toFixed(2)),
  p50Ms: pct(0.5),
  p99Ms: pct(0.99),
  // Without embedding the message (the same as p50Ms / p99Ms when the model has no encoder).
  classifyP50Ms: pct(0.5, classifyLatencies),
  classifyP99Ms: pct(0.99, classifyLatencies),
  // Messages embedded (the n-gram model unsure of them), of all judged.
  embeddedShare: model.encoder ? Number((embeddedMessages / latencies.length).toFixed(4)) : null,
  rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
  modelMb: Number((model.bytes / 1024 / 1024).toFixed(1)),
  split,
  shots,
  intents: intents.length,
  examples: intents.reduce((sum, i) => sum + i.examples.length, 0),
  threshold: model.threshold,
  encoder: model.encoder,
  sureAt: model.encoder ? (values["sure-at"] ? Number(values["sure-at"]) : SURE_AT) : null,
  ...(encoderRun
    ? {
        encoderLoadSeconds: Number(encoderRun.loadSeconds.toFixed(2)),
        encoderPlanned: encoderRun.planned,
        encoderEmbedded: encoderRun.embedded,
        encoderCached: encoderRun.cached,
        encoderEmbedSeconds: Number(encoderRun.embedSeconds.toFixed(2)),
      }
    : {}),
  load: loadavg().map((l) => Number(l.toFixed(1))),
};
await encoderRun?.close();
console.log(JSON.stringify(figures));
console.log(
  `${figures.split}${shots === null ? "" : `, ${shots} examples per intent`}: in-scope accuracy ${(figures.inScopeAccuracy * 100).toFixed(1)}%, out-of-scope recall ${figures.oosRecall === null ? "n/a" : `${(figures.oosRecall * 100).toFixed(1)}%`}; ` +
    `trained in ${figures.trainSeconds} s${encoderRun ? ` (${figures.encoderEmbedSeconds} s embedding ${figures.encoderEmbedded} texts, ${figures.encoderCached} cached)` : ""}; ${model.encoder ? "embedding + " : ""}classification p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms${model.encoder ? ` (classification alone ${figures.classifyP50Ms} / ${figures.classifyP99Ms} ms; ${(figures.embeddedShare! * 100).toFixed(1)}% of messages embedded)` : ""}; model ${figures.modelMb} MB, RSS ${figures.rssMb} MB`,
);
