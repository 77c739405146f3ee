// `npm run bench:nlu [-- <file>] [--shots N] [--language en]`: trains a tenant's model (`trainModel`,
// as a worker does) on the `train` split of a CLINC150-format file and evaluates on `test` /
// `oos_test` when present, else `val` / `oos_val`; a file without out-of-scope rows reports their
// recall as null. `--shots N` keeps N training examples per intent, drawn with a fixed seed, so runs
// compare. Prints one JSON line, then a summary. Only `train` is learnt from; out-of-scope rows are
// never seen in training.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { trainModel, type IntentDefinition } from "../src/model.ts";
import { shuffleInPlace } from "../src/seeded.ts";
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
    // EXPERIMENTAL (issue 22): `--encoder use` averages the model's probabilities with a softmax over
    // Universal Sentence Encoder embeddings (bench/use-encoder.ts), weighted by `--encoder-weight`.
    encoder: { type: "string" },
    "encoder-weight": { type: "string", default: "0.5" },
    "encoder-epochs": { type: "string", default: "5" },
  },
});
type Row = [string, string];
const dataFile = positionals[0] ?? values.data ?? defaultData;
const data = JSON.parse(readFileSync(dataFile, "utf8")) as Record<string, Row[]>;
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
    return { name, examples: shuffleInPlace([...examples], random).slice(0, shots) };
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
if (values.encoder !== undefined && values.encoder !== "use" && values.encoder !== "use-features")
  throw new Error("--encoder knows only `use` and `use-features`");
if (values.encoder === "use-features") {
  await featuresBench(inScope);
  process.exit(0);
}
if (values.encoder === "use") {
  await encoderBench(inScope);
  process.exit(0);
}

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

/**
 * `--encoder use`: the same model, plus a softmax over USE embeddings trained on the same examples;
 * their probabilities are averaged ((1 − w) · model + w · encoder). Prints the figures at the
 * model's threshold for w = 0, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1, each with the threshold that keeps out-of-scope
 * recall ≥ 50% at the best in-scope accuracy (chosen on the evaluated split itself: optimistic).
 */
async function encoderBench(inScope: Row[]): Promise<void> {
  // Imported here so the plain bench never loads TF.js.
  const { EmbeddingSoftmax, embedAll } = await import("./use-encoder.ts");
  const cacheBase = `${dataFile instanceof URL ? dataFile.pathname : dataFile}.use-cache`;
  const examples = intents.flatMap((i) => i.examples.map((text) => ({ text, intent: i.name })));
  const texts = [...examples.map((e) => e.text), ...inScope.map((r) => r[0]), ...outOfScope.map((r) => r[0])];
  const cpu0 = process.cpuUsage();
  const { vectors, embedSeconds, loadSeconds, embedded } = await embedAll(texts, cacheBase);
  const embedCpu = process.cpuUsage(cpu0);
  const classes = [...new Set(examples.map((e) => e.intent))].sort();
  const headStarted = performance.now();
  const headCpu0 = process.cpuUsage();
  const head = EmbeddingSoftmax.train(
    examples.map((e) => vectors.get(e.text)!),
    examples.map((e) => e.intent),
    classes,
    Number(values["encoder-epochs"]),
  );
  const headCpu = process.cpuUsage(headCpu0);
  const headSeconds = (performance.now() - headStarted) / 1000;
  const weights = [0, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1];
  const chosen = Number(values["encoder-weight"]);
  if (!weights.includes(chosen)) weights.push(chosen);
  const rows = [
    ...inScope.map((r) => ({ text: r[0], gold: r[1] as string | null })),
    ...outOfScope.map((r) => ({ text: r[0], gold: null })),
  ];
  const baseLatency: number[] = [];
  const headLatency: number[] = [];
  // Per row and weight: the best intent and its combined probability.
  const results = rows.map(({ text, gold }) => {
    let t = performance.now();
    const base = model.classify(text);
    baseLatency.push(performance.now() - t);
    t = performance.now();
    const encoded = head.probabilities(vectors.get(text)!);
    headLatency.push(performance.now() - t);
    const baseP = new Map(base.ranking.map((r) => [r.intent, r.confidence]));
    return {
      gold,
      byWeight: weights.map((w) => {
        let best = -1;
        let bestP = -1;
        for (let c = 0; c < classes.length; c++) {
          const p = (1 - w) * (baseP.get(classes[c]!) ?? 0) + w * encoded[c]!;
          if (p > bestP) [best, bestP] = [c, p];
        }
        return { intent: classes[best]!, p: bestP };
      }),
    };
  });
  const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
  const pctOf = (a: number[], p: number) =>
    Number(sorted(a)[Math.min(a.length - 1, Math.floor(p * a.length))]!.toFixed(3));
  // `half`: 0 or 1 keeps the even or odd rows of each split (for choosing on one, measuring on the other).
  const score = (wi: number, threshold: number, half?: 0 | 1) => {
    let correct = 0;
    let recalled = 0;
    let inCount = 0;
    let outCount = 0;
    for (const [i, r] of results.entries()) {
      const index = r.gold === null ? i - inScope.length : i;
      if (half !== undefined && index % 2 !== half) continue;
      if (r.gold === null) outCount++;
      else inCount++;
      const { intent, p } = r.byWeight[wi]!;
      if (r.gold === null) recalled += p < threshold ? 1 : 0;
      else correct += p >= threshold && intent === r.gold ? 1 : 0;
    }
    return {
      inScopeAccuracy: Number((correct / inCount).toFixed(4)),
      oosRecall: outCount ? Number((recalled / outCount).toFixed(4)) : null,
    };
  };
  // Less optimistic: per weight, the threshold with the best accuracy at oos recall ≥ 50% on the even
  // rows, measured on the odd rows.
  const holdout = weights.map((weight, wi) => {
    let chosenThreshold = 0;
    let bestAccuracy = -1;
    for (let t = 0.05; t < 0.4; t += 0.01) {
      const s = score(wi, t, 0);
      if ((s.oosRecall ?? 1) >= 0.5 && s.inScopeAccuracy > bestAccuracy) {
        bestAccuracy = s.inScopeAccuracy;
        chosenThreshold = Number(t.toFixed(2));
      }
    }
    return {
      weight,
      threshold: chosenThreshold,
      tuned: score(wi, chosenThreshold, 0),
      heldOut: score(wi, chosenThreshold, 1),
    };
  });
  const table = weights.map((w, wi) => {
    const atModel = score(wi, model.threshold);
    let best = { threshold: 0, inScopeAccuracy: 0, oosRecall: 0 as number | null };
    for (let t = 0.01; t < 0.95; t += 0.01) {
      const s = score(wi, t);
      if ((s.oosRecall ?? 1) >= 0.5 && s.inScopeAccuracy > best.inScopeAccuracy)
        best = { threshold: Number(t.toFixed(2)), ...s };
    }
    return { weight: w, atThreshold: model.threshold, ...atModel, bestForOos50: best };
  });
  // Every weight across thresholds 0.08–0.25, to find one setting that serves both the full and the few-shot data.
  const sweep = weights.map((weight, wi) => ({
    weight,
    rows: Array.from({ length: 18 }, (_, i) => {
      const t = Number((0.08 + i * 0.01).toFixed(2));
      const s = score(wi, t);
      return [t, s.inScopeAccuracy, s.oosRecall];
    }),
  }));
  const combinedLatency = baseLatency.map((b, i) => b + headLatency[i]!);
  const figures = {
    encoder: "use",
    split: data.test ? "test" : "val",
    shots,
    examples: examples.length,
    modelTrainSeconds: Number(trainSeconds.toFixed(2)),
    headTrainSeconds: Number(headSeconds.toFixed(2)),
    headTrainCpuSeconds: Number(((headCpu.user + headCpu.system) / 1e6).toFixed(2)),
    encoderLoadSeconds: Number(loadSeconds.toFixed(2)),
    embedded,
    embedSeconds: Number(embedSeconds.toFixed(1)),
    embedCpuSeconds: Number(((embedCpu.user + embedCpu.system) / 1e6).toFixed(1)),
    classifyP50Ms: pctOf(combinedLatency, 0.5),
    classifyP99Ms: pctOf(combinedLatency, 0.99),
    headP99Ms: pctOf(headLatency, 0.99),
    rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
    table,
    sweep,
    holdout,
  };
  console.log(JSON.stringify(figures));
  for (const row of table)
    console.log(
      `w=${row.weight}: at ${row.atThreshold}: in-scope ${(row.inScopeAccuracy * 100).toFixed(1)}%, oos recall ${row.oosRecall === null ? "n/a" : `${(row.oosRecall * 100).toFixed(1)}%`}; ` +
        `best with oos ≥ 50%: threshold ${row.bestForOos50.threshold}: in-scope ${(row.bestForOos50.inScopeAccuracy * 100).toFixed(1)}%, oos ${((row.bestForOos50.oosRecall ?? 0) * 100).toFixed(1)}%`,
    );
  for (const row of holdout)
    console.log(
      `w=${row.weight}: threshold ${row.threshold} chosen on even rows (${(row.tuned.inScopeAccuracy * 100).toFixed(1)}%, oos ${((row.tuned.oosRecall ?? 0) * 100).toFixed(0)}%), ` +
        `odd rows: in-scope ${(row.heldOut.inScopeAccuracy * 100).toFixed(1)}%, oos ${((row.heldOut.oosRecall ?? 0) * 100).toFixed(0)}%`,
    );
}

/**
 * `--encoder use-features`: the USE embedding appended to the classifier's features (beside the
 * pooled word vectors, weight `--encoder-weight`, shortened by the known share like them), one
 * model instead of two. Reports in-scope accuracy and oos recall for thresholds 0.08–0.3.
 */
async function featuresBench(inScope: Row[]): Promise<void> {
  const { embedAll } = await import("./use-encoder.ts");
  const { IntentClassifier } = await import("../src/classifier.ts");
  const cacheBase = `${dataFile instanceof URL ? dataFile.pathname : dataFile}.use-cache`;
  const examples = intents.flatMap((i) => i.examples.map((text) => ({ text, intent: i.name })));
  const texts = [...examples.map((e) => e.text), ...inScope.map((r) => r[0]), ...outOfScope.map((r) => r[0])];
  const { vectors, embedded } = await embedAll(texts, cacheBase);
  const weight = Number(values["encoder-weight"]);
  const cpu0 = process.cpuUsage();
  const classifier = IntentClassifier.train(examples, {
    wordVectors: wordVectorsFor(values.language),
    sentenceVectors: (text) => vectors.get(text)!,
    sentenceWeight: weight,
  });
  const trainCpu = process.cpuUsage(cpu0);
  const latency: number[] = [];
  const results = [
    ...inScope.map((r) => ({ text: r[0], gold: r[1] as string | null })),
    ...outOfScope.map((r) => ({ text: r[0], gold: null })),
  ].map(({ text, gold }) => {
    const t = performance.now();
    const c = classifier.classify(text);
    latency.push(performance.now() - t);
    return { gold, intent: c.ranking[0]!.intent, p: c.confidence };
  });
  const sweep = Array.from({ length: 23 }, (_, i) => {
    const t = Number((0.08 + i * 0.01).toFixed(2));
    let correct = 0;
    let recalled = 0;
    for (const r of results)
      if (r.gold === null) recalled += r.p < t ? 1 : 0;
      else correct += r.p >= t && r.intent === r.gold ? 1 : 0;
    return [t, Number((correct / inScope.length).toFixed(4)), Number((recalled / (outOfScope.length || 1)).toFixed(4))];
  });
  latency.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      encoder: "use-features",
      shots,
      weight,
      embedded,
      trainCpuSeconds: Number(((trainCpu.user + trainCpu.system) / 1e6).toFixed(2)),
      classifyP99Ms: Number(latency[Math.floor(0.99 * latency.length)]!.toFixed(3)),
      sweep,
    }),
  );
}
