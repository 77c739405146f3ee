// What the NLU benchmarks share: the copy of CLINC150 in packages/nlu/bench/data (CC BY 3.0, see its
// SOURCES.md) as tenants' intents and customers' messages, understanding at a steady rate, and
// memory read after a collection.
import { readFileSync } from "node:fs";
import type { InboundMessage } from "@cb/core";

export interface Clinc {
  /** The training split as intents, in the file's order, up to `examplesPerIntent` examples each. */
  intents: { name: string; examples: string[] }[];
  /** The validation split's texts, in the file's order: what customers say. */
  phrases: string[];
  /** The training split's texts, in the file's order. */
  trainingTexts: string[];
}

export function readClinc(examplesPerIntent = Infinity): Clinc {
  const clinc = JSON.parse(
    readFileSync(new URL("../../../packages/nlu/bench/data/data_train_val.json", import.meta.url), "utf8"),
  ) as { train: [string, string][]; val: [string, string][] };
  const byIntent = new Map<string, string[]>();
  for (const [text, intent] of clinc.train) {
    const examples = byIntent.get(intent) ?? [];
    if (examples.length < examplesPerIntent) examples.push(text);
    byIntent.set(intent, examples);
  }
  return {
    intents: [...byIntent].map(([name, examples]) => ({ name, examples })),
    phrases: clinc.val.map(([text]) => text),
    trainingTexts: clinc.train.map(([text]) => text),
  };
}

/** The garbage collector (node --expose-gc), which memory figures need; `script` names the npm script that sets it. */
export function exposedGc(script: string): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error(`run with --expose-gc (npm run ${script} does)`);
  return gc;
}

/** The process's resident memory in MB, after a collection. */
export function rssMbAfterGc(gc: () => void): number {
  gc();
  return Math.round(process.memoryUsage().rss / 1048576);
}

/** A customer's Telegram message in a private chat, as understanding sees it. */
export const customerMessage = (text: string): InboundMessage => ({
  channel: "telegram",
  platformEventId: "1",
  conversation: { externalId: "7", type: "private" },
  sender: { externalId: "7" },
  sentAt: "2026-12-06T12:00:00.000Z",
  text,
});

/**
 * Calls `call(i)` for i = 0, 1, … one every `rateMs` until `during` settles; latency counts from when
 * each was due, so a blocked event loop shows in full (those due meanwhile go once it is free).
 */
export async function atSteadyRate(
  rateMs: number,
  during: Promise<unknown>,
  call: (i: number) => Promise<unknown>,
): Promise<{ p50Ms: number; p99Ms: number; maxMs: number; n: number }> {
  const latencies: number[] = [];
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  let due = 0;
  let done = false;
  void during.finally(() => (done = true));
  for (let last = false; !last; ) {
    last = done;
    for (const now = performance.now(); start + due * rateMs <= now; due++) {
      const dueAt = start + due * rateMs;
      inflight.push(call(due).then(() => void latencies.push(performance.now() - dueAt)));
    }
    await new Promise((resolve) => setTimeout(resolve, rateMs));
  }
  await Promise.all(inflight);
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1), n: latencies.length };
}
