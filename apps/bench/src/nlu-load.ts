// What the NLU benchmarks share: the copy of CLINC150 in packages/nlu/bench/data (CC BY 3.0, see its
// SOURCES.md) as tenants' intents and customers' messages, and memory read after a collection.
import { readFileSync } from "node:fs";

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
