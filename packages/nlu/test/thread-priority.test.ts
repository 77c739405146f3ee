import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { BACKGROUND_NICE, createTrainer, type IntentDefinition } from "../src/index.ts";

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

test("a training's threads run below the event loop's priority, which keeps its own", async () => {
  const before = niceOfThreads();
  assert.equal(before.get(process.pid), 0, "the event loop's thread at the default");
  const training = createTrainer().train({ intents, entityTypes: [], language: "en" })!;
  let done = false;
  void training.finally(() => {
    done = true;
  });
  const lowered = new Set<number>();
  while (!done) {
    for (const [tid, nice] of niceOfThreads()) if (nice === BACKGROUND_NICE) lowered.add(tid);
    await sleep(5);
  }
  await training;
  assert.ok(lowered.size >= 1, "the training thread was seen at the background priority");
  assert.ok(!lowered.has(process.pid));
  assert.equal(niceOfThreads().get(process.pid), 0, "the event loop's priority untouched");
});
