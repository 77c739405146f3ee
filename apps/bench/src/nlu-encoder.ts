// `npm run bench:nlu-encoder`: the sentence encoder in a worker (issue 22).
// 1. A 150-intent tenant of 15,000 examples (CLINC150's training set) trained with the encoder, as
//    its job does: the first training (every text embedded, then cached in PostgreSQL) and a
//    retraining after one example is added (one text embedded); the job's time limit is 300 s.
// 2. Meanwhile, turns of a 20-intent encoder tenant at a steady 20 a second (CLINC150's validation
//    messages, of all 150 intents: most are out of its scope; those its n-gram model is unsure of
//    are embedded, in the same thread as the training's batches): latency p50 / p99 quiet (after 2 s
//    of turns not counted, which load its model and the word vectors) and during the first
//    training and during the retraining, and the share of turns embedded.
// 3. The process's RSS: before the encoder, after it is loaded, after the turns, after the trainings
//    (the encoder's thread stays; the training thread is gone).
// ENCODER=off: the same without the encoder, for comparison (turns classified by n-grams alone).
// Prints one JSON line, then a summary. Timing figures are only meaningful on a quiet machine.
import { loadavg } from "node:os";
import { createUnderstand, type TenantInfo } from "@cb/conversation";
import { createDb, createPool } from "@cb/db";
import { createLogger } from "@cb/logging";
import { captureLogs } from "@cb/logging/testing";
import { createModelStore, createSentenceEncoder, createTrainer, trainTenantModel } from "@cb/nlu";
import { nluSentenceEncoder } from "@cb/observability";
import { atSteadyRate, customerMessage as message, exposedGc, readClinc, rssMbAfterGc } from "./nlu-load.ts";
import { benchDatabase } from "./database.ts";

const loadAtStart = loadavg().map((l) => Number(l.toFixed(1)));
const gc = exposedGc("bench:nlu-encoder");
const rssMb = () => rssMbAfterGc(gc);
const { intents: allIntents, phrases } = readClinc();

const database = await benchDatabase();
const pool = createPool(database.url, { max: 10 });
const db = createDb(pool);
const trainer = createTrainer();
const silent = createLogger({ level: "silent" });
const rssBeforeMb = rssMb();
const encoder =
  process.env.ENCODER === "off" ? undefined : createSentenceEncoder({ logger: createLogger({ level: "warn" }) });
const withEncoder = encoder ? { encoder } : {};

async function tenantWith(name: string, intents: { name: string; examples: string[] }[]): Promise<TenantInfo> {
  const row = await db.tenant.create({ data: { name, language: "en" } });
  await db.intent.createMany({ data: intents.map((i) => ({ tenantId: row.id, ...i })) });
  return { id: row.id, language: "en", timezone: "UTC" };
}

// A 20-intent tenant (20 examples each) whose model learns from the encoder: its turns embed.
const small = await tenantWith(
  "Small",
  allIntents.slice(0, 20).map((i) => ({ name: i.name, examples: i.examples.slice(0, 20) })),
);
await trainTenantModel(db, small.id, { trainer, logger: silent, pool, ...withEncoder });
const rssLoadedMb = rssMb();
const understand = createUnderstand(db, {
  store: createModelStore(db, { pool }),
  pool,
  logger: silent,
  ...withEncoder,
});

const RATE_MS = 50;
/** Turns of the encoder tenant by outcome so far (used, skipped, failed): the share embedded is asked of the model's gate. */
const encoderOutcomes = async () =>
  Object.fromEntries((await nluSentenceEncoder.get()).values.map((v) => [v.labels.outcome, v.value]));

/** Turns of the small tenant, one every RATE_MS, until `during` settles; latency from when each was due. */
async function steady(during: Promise<unknown>) {
  const before = await encoderOutcomes();
  const latency = await atSteadyRate(RATE_MS, during, (i) =>
    understand({ tenant: small, message: message(phrases[i % phrases.length]!), state: undefined }),
  );
  const after = await encoderOutcomes();
  const [used, skipped, failed] = ["used", "skipped", "failed"].map((o) => (after[o] ?? 0) - (before[o] ?? 0));
  const asked = used! + skipped! + failed!;
  return {
    ...latency,
    embeddedShare: asked ? Math.round(((used! + failed!) / asked) * 1000) / 1000 : null,
    failed: failed!,
  };
}

// Not counted: the first turns load the tenant's model and the word vectors into the process.
await steady(new Promise((resolve) => setTimeout(resolve, 2_000)));
const quiet = await steady(new Promise((resolve) => setTimeout(resolve, 10_000)));
const rssAfterTurnsMb = rssMb();

const big = await tenantWith("Big", allIntents);
const examples = allIntents.reduce((n, i) => n + i.examples.length, 0);
/** One training job of the big tenant: its time, and what its log line says of the encoding. */
async function trainBig() {
  const { logger, lines } = captureLogs();
  const started = performance.now();
  const outcome = await trainTenantModel(db, big.id, { trainer, logger, pool, ...withEncoder });
  if (outcome !== "trained") throw new Error(`training: ${outcome}`);
  const encoding = (lines.at(-1)!.encoding ?? { embedded: 0, ms: 0 }) as Record<string, number>;
  return { ms: Math.round(performance.now() - started), encoding };
}
let first!: Awaited<ReturnType<typeof trainBig>>;
const duringTraining = await steady(
  (async () => {
    first = await trainBig();
  })(),
);
await db.intent.update({
  where: { tenantId_name: { tenantId: big.id, name: allIntents[0]!.name } },
  data: { examples: { push: "one more way to say it, added by the tenant" } },
});
let retraining!: Awaited<ReturnType<typeof trainBig>>;
const duringRetraining = await steady(
  (async () => {
    retraining = await trainBig();
  })(),
);
const rssAfterTrainingMb = rssMb();

const figures = {
  examples,
  intents: allIntents.length,
  firstTrainingMs: first.ms,
  firstEncoding: first.encoding,
  retrainingMs: retraining.ms,
  retrainingEncoding: retraining.encoding,
  turnsPerSecond: 1000 / RATE_MS,
  turnsQuiet: quiet,
  turnsDuringFirstTraining: duringTraining,
  turnsDuringRetraining: duringRetraining,
  rssBeforeMb,
  rssLoadedMb,
  rssAfterTurnsMb,
  rssAfterTrainingMb,
  encoder: encoder ? "on" : "off",
  encoderThreads: encoder?.stats().threads ?? 0,
  loadAtStart,
  loadAtEnd: loadavg().map((l) => Number(l.toFixed(1))),
};
await encoder?.close();
await pool.end();
await database.drop();
console.log(JSON.stringify(figures));
console.log(
  `${examples} examples in ${figures.intents} intents: first training ${first.ms} ms (embedding ${first.encoding.embedded} texts ${first.encoding.ms} ms), ` +
    `retraining after one example ${retraining.ms} ms (embedded ${retraining.encoding.embedded}, ${retraining.encoding.ms} ms); ` +
    `encoder turns at ${figures.turnsPerSecond}/s p50/p99: quiet ${quiet.p50Ms}/${quiet.p99Ms} ms, during the first training ${duringTraining.p50Ms}/${duringTraining.p99Ms} ms, ` +
    `during the retraining ${duringRetraining.p50Ms}/${duringRetraining.p99Ms} ms ` +
    `(turns embedded ${quiet.embeddedShare} / ${duringTraining.embeddedShare} / ${duringRetraining.embeddedShare}); ` +
    `RSS ${rssBeforeMb} MB → encoder loaded ${rssLoadedMb} → after turns ${rssAfterTurnsMb} → after trainings ${rssAfterTrainingMb} MB`,
);
