import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const script = new URL("../bench/clinc150.ts", import.meta.url).pathname;
const spanish = new URL("../bench/data/nlpjs-corpus50-es.json", import.meta.url).pathname;
const english = new URL("../bench/data/nlpjs-corpus50-en.json", import.meta.url).pathname;

async function bench(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script, ...args]);
  return JSON.parse(stdout.split("\n")[0]!) as Record<string, unknown>;
}

test("bench:nlu: any CLINC150-format file, N examples per intent drawn with a fixed seed, or the first N intents", async () => {
  const full = await bench(spanish, "--language", "es");
  assert.equal(full.examples, 250);
  assert.equal(full.shots, null);
  assert.equal(full.split, "test");
  assert.equal(typeof full.oosRecall, "number", "the file's oos_test rows are judged");
  const few = await bench(spanish, "--language", "es", "--shots", "2");
  assert.equal(few.examples, 100, "50 intents × 2");
  assert.equal(few.shots, 2);
  assert.ok((few.inScopeAccuracy as number) < (full.inScopeAccuracy as number));
  const again = await bench(spanish, "--language", "es", "--shots", "2");
  assert.equal(again.inScopeAccuracy, few.inScopeAccuracy, "the same examples are drawn every run");
  const first = await bench(spanish, "--language", "es", "--intents", "3");
  assert.equal(first.intents, 3);
  assert.equal(first.examples, 15, "3 intents × 5");
});

test("bench:nlu --encoder: the model learns from the sentence encoder; the messages it is unsure of are embedded in the timing", async () => {
  const plain = await bench(english);
  const encoded = await bench(english, "--encoder");
  assert.equal(plain.encoder, null);
  assert.equal(encoded.encoder, "use-lite-512");
  assert.equal(encoded.examples, 250);
  assert.equal((encoded.encoderEmbedded as number) + (encoded.encoderCached as number), encoded.encoderPlanned);
  assert.ok((encoded.inScopeAccuracy as number) > (plain.inScopeAccuracy as number));
  assert.equal(encoded.sureAt, 0.7);
  const share = encoded.embeddedShare as number;
  assert.ok(share > 0 && share < 1, `only the messages the n-grams are unsure of are embedded (${share})`);
  const always = await bench(english, "--encoder", "--sure-at", "Infinity");
  assert.equal(always.embeddedShare, 1);
  assert.ok((always.p50Ms as number) > (always.classifyP50Ms as number), "embedding the message is timed");
  assert.equal(plain.embeddedShare, null);
  const spanishWithEncoder = await bench(spanish, "--language", "es", "--encoder");
  assert.equal(spanishWithEncoder.encoder, null, "no encoder for Spanish: the n-grams alone");
});

test("bench:nlu --dev: judged on training rows held out of training and oos_train", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-nlu-"));
  const file = join(dir, "data.json");
  const rows = (intent: string, texts: string[]) => texts.map((t) => [t, intent]);
  const hello = ["hi", "hello there", "good morning", "hey", "hello"];
  const bye = ["bye", "see you", "goodbye", "bye bye", "see you later"];
  writeFileSync(
    file,
    JSON.stringify({
      train: [...rows("hello", hello), ...rows("bye", bye)],
      val: [...rows("hello", ["hello"])],
      oos_train: [["what is the weather", "oos"]],
    }),
  );
  const figures = await bench(file, "--dev");
  assert.equal(figures.split, "train-held-out");
  assert.equal(figures.examples, 8, "a fifth of each intent's examples held out");
  assert.equal(typeof figures.oosRecall, "number");
});

test("bench:nlu: a file without out-of-scope rows, and files it refuses", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-nlu-"));
  const file = join(dir, "data.json");
  const rows = (intent: string, texts: string[]) => texts.map((t) => [t, intent]);
  writeFileSync(
    file,
    JSON.stringify({
      train: [...rows("hello", ["hi", "hello there", "good morning"]), ...rows("bye", ["bye", "see you", "goodbye"])],
      val: [...rows("hello", ["hello"]), ...rows("bye", ["goodbye then"])],
    }),
  );
  const figures = await bench(file);
  assert.equal(figures.oosRecall, null);
  assert.equal(figures.split, "val");
  assert.equal(figures.inScopeAccuracy, 1);
  writeFileSync(file, JSON.stringify({ train: [["hi", null]], val: [["hi", "hello"]] }));
  await assert.rejects(bench(file), /every row must be \[text, intent\]/);
  await assert.rejects(bench(spanish, "--shots", "0"), /--shots needs a positive integer/);
});
