import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { BACKGROUND_NICE, createTrainer, type IntentDefinition } from "../src/index.ts";
import { seeded } from "../src/seeded.ts";

/** Each of this process's threads' nice values (Linux's /proc/self/task/<tid>/stat, field 19). */
function niceOfThreads(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      nices.set(Number(tid), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return nices;
}

// 40 intents of 60 made-up examples: a training of a second or so, long enough to be seen running.
const words = "order parcel refund invoice account password delivery address payment card store hours".split(" ");
const intents: IntentDefinition[] = Array.from({ length: 40 }, (_, i) => ({
  name: `intent.${i}`,
  examples: Array.from(
    { length: 60 },
    (_, j) => `${words[i % words.length]} ${words[(i * 7 + j) % words.length]} number ${i} case ${j}`,
  ),
}));

/**
 * The threads seen at the background priority while `run` runs (polled every 5 ms), until `until`
 * holds or 20 s pass.
 */
async function loweredWhile<T>(run: Promise<T>, until: (lowered: Set<number>) => boolean = () => false) {
  let done = false;
  void run.finally(() => {
    done = true;
  });
  // Threads of an earlier test still ending are not this run's.
  const earlier = new Set([...niceOfThreads()].flatMap(([tid, nice]) => (nice === BACKGROUND_NICE ? [tid] : [])));
  const lowered = new Set<number>();
  const giveUp = performance.now() + 20_000;
  while (!done && !until(lowered) && performance.now() < giveUp) {
    for (const [tid, nice] of niceOfThreads()) if (nice === BACKGROUND_NICE && !earlier.has(tid)) lowered.add(tid);
    await sleep(5);
  }
  return lowered;
}

test("a training's thread runs below the event loop's priority, which keeps its own", async () => {
  assert.equal(niceOfThreads().get(process.pid), 0, "the event loop's thread at the default");
  const training = createTrainer().train({ intents, entityTypes: [], language: "en" })!;
  const lowered = await loweredWhile(training);
  await training;
  assert.equal(lowered.size, 1, "the training thread was seen at the background priority");
  assert.ok(!lowered.has(process.pid));
  assert.equal(niceOfThreads().get(process.pid), 0, "the event loop's priority untouched");
});

test("the encoder head's thread runs below it too", async () => {
  const vectors = Promise.withResolvers<ReadonlyMap<string, Float32Array>>();
  const training = createTrainer().train({ intents, entityTypes: [], language: "en" }, undefined, {
    sentenceVectors: vectors.promise,
  })!;
  // Both threads wait for the vectors once the n-gram model is trained: the two seen lowered.
  const lowered = await loweredWhile(training, (seen) => seen.size === 2);
  // The vectors given before judging, so that the threads end either way.
  const random = seeded(3);
  vectors.resolve(
    new Map(
      intents
        .flatMap((i) => i.examples)
        .map((text) => [text, Float32Array.from({ length: 512 }, () => random() - 0.5)]),
    ),
  );
  await training;
  assert.equal(lowered.size, 2, "the training thread and the head's");
});

test("the model report's thread runs below it too", async () => {
  const report = new Worker(new URL("../src/evaluate-thread.ts", import.meta.url), {
    workerData: { intents, entityTypes: [], language: "en" },
  });
  const done = once(report, "message");
  const lowered = await loweredWhile(done, (seen) => seen.size === 1);
  await report.terminate();
  assert.equal(lowered.size, 1, "the report's thread was seen at the background priority");
});
