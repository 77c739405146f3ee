// `npm run bench:nlu-encoder-speed`: the sentence encoder's own speed, in this thread, without the
// hop to its thread (sentence-encoder.ts) or any queue: milliseconds a text in batches of 1, 8 and
// 64, the texts in file order and by length (as a training sends them), over 1,500 of CLINC150's
// training examples (50 an intent, as trainings embed them); then each of 1,500 validation messages
// alone, as a turn embeds one: p50 / p99 / max, and a message of 40 words. Prints one JSON line.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { loadUseLite, WARM_UP } from "../src/use-lite.ts";

const data = JSON.parse(readFileSync(new URL("./data/data_train_val.json", import.meta.url), "utf8")) as Record<
  string,
  [string, string][]
>;
const byIntent = new Map<string, string[]>();
for (const [text, intent] of data.train!) {
  const examples = byIntent.get(intent) ?? [];
  if (examples.length < 50) examples.push(text);
  byIntent.set(intent, examples);
}
const all = [...byIntent.values()].flat();
const COUNT = 1_500;
const texts = all.filter((_, i) => i % Math.floor(all.length / COUNT) === 0).slice(0, COUNT);
const byLength = [...texts].sort((a, b) => a.length - b.length);
const loadAtStart = loadavg().map((l) => Number(l.toFixed(1)));

let started = performance.now();
const encoder = await loadUseLite();
const loadMs = Math.round(performance.now() - started);
for (const text of WARM_UP) await encoder.embed([text]);

async function msPerText(list: string[], batch: number) {
  const begun = performance.now();
  for (let i = 0; i < list.length; i += batch) await encoder.embed(list.slice(i, i + batch));
  return Number(((performance.now() - begun) / list.length).toFixed(3));
}
const figures: Record<string, unknown> = { loadMs };
for (const batch of [1, 8, 64]) {
  figures[`batch${batch}MsPerText`] = await msPerText(texts, batch);
  figures[`batch${batch}ByLengthMsPerText`] = await msPerText(byLength, batch);
}
const alone: number[] = [];
for (const [text] of data.val!.slice(0, COUNT)) {
  started = performance.now();
  await encoder.embed([text]);
  alone.push(performance.now() - started);
}
alone.sort((a, b) => a - b);
const at = (q: number, of = alone) => Number(of[Math.min(of.length - 1, Math.floor(q * of.length))]!.toFixed(2));
const long: number[] = [];
const forty = Array.from({ length: 40 }, (_, i) => WARM_UP[1]!.split(" ")[i % 3]).join(" ");
for (let i = 0; i < 50; i++) {
  started = performance.now();
  await encoder.embed([forty]);
  long.push(performance.now() - started);
}
long.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    ...figures,
    aloneP50Ms: at(0.5),
    aloneP99Ms: at(0.99),
    aloneMaxMs: at(1),
    fortyWordsP50Ms: at(0.5, long),
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    loadAtStart,
    loadAtEnd: loadavg().map((l) => Number(l.toFixed(1))),
  }),
);
