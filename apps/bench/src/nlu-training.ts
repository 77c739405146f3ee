// `npm run bench:nlu-training`: NLU training off the hot path, and models in memory bounded.
// 1. Other tenants' understanding (the NLU stage of a turn: the model store, then classification
//    and entities) at a steady 50 a second (RATE_MS=20 between them) on this process, its latency p50 / p99 measured from
//    when each was due: quiet; while a 150-intent tenant trains as its job does (a worker thread);
//    and, for comparison, while it trains on the event loop as turns did before.
// 2. A worker that serves 1,000 tenants of 20 intents, one message each, within a model cache of
//    NLU_MODEL_CACHE_MB (64 here unless set): its heap after collection against that bound, and the
//    time to load again a model that was evicted (and the 150-intent one).
// Prints one JSON line, then a summary. Timing figures are only meaningful on a quiet machine.
import { createUnderstand, type TenantInfo } from "@cb/conversation";
import { createDb, createPool } from "@cb/db";
import { createLogger } from "@cb/logging";
import { createModelStore, createTrainer, trainModel, trainTenantModel } from "@cb/nlu";
import { atSteadyRate, customerMessage as message, exposedGc, readClinc } from "./nlu-load.ts";
import { benchDatabase } from "./database.ts";

const gc = exposedGc("bench:nlu-training");
const { intents: allIntents, phrases } = readClinc(20);

const database = await benchDatabase();
const pool = createPool(database.url, { max: 10 });
const db = createDb(pool);
const trainer = createTrainer();
const logger = createLogger({ level: "silent" });

async function tenantWith(name: string, intents: { name: string; examples: string[] }[]): Promise<TenantInfo> {
  const row = await db.tenant.create({ data: { name } });
  await db.intent.createMany({ data: intents.map((i) => ({ tenantId: row.id, ...i })) });
  const { trainingRevision } = await db.tenant.findUniqueOrThrow({ where: { id: row.id } });
  return { id: row.id, language: "en", timezone: "UTC", trainingRevision: String(trainingRevision) };
}

// Ten tenants of 20 CLINC150 intents each, trained and stored as their jobs would.
const others: TenantInfo[] = [];
for (let i = 0; i < 10; i++) {
  const tenant = await tenantWith(`Other ${i}`, allIntents.slice(i * 13, i * 13 + 20));
  await trainTenantModel(db, tenant.id, { trainer, logger, pool });
  others.push(tenant);
}
const big = await tenantWith("Big", allIntents);

const store = createModelStore(db, { pool });
const understand = createUnderstand(db, { store, pool });
for (const tenant of others) await understand({ tenant, message: message("hello"), state: undefined });

const RATE_MS = Number(process.env.RATE_MS ?? 20);
/** Understanding for the other tenants, one every RATE_MS, until `during` settles. */
const steady = (during: Promise<unknown>) =>
  atSteadyRate(RATE_MS, during, (i) =>
    understand({
      tenant: others[i % others.length]!,
      message: message(phrases[i % phrases.length]!),
      state: undefined,
    }),
  );

const quiet = await steady(new Promise((resolve) => setTimeout(resolve, 10_000)));
let trainingMs = 0;
const inThread = await steady(
  (async () => {
    const started = performance.now();
    await trainTenantModel(db, big.id, { trainer, logger, pool });
    trainingMs = Math.round(performance.now() - started);
  })(),
);
// As turns trained before: the same training on the event loop, started once the steady load runs.
const bigData = (await db.intent.findMany({ where: { tenantId: big.id } })).map((i) => ({
  name: i.name,
  examples: i.examples,
}));
const onEventLoop = await steady(
  new Promise((resolve) => setTimeout(() => resolve(trainModel(bigData, { language: "en" })), 1_000)),
);

// Part 2: 1,000 tenants, each with a copy of one of the ten stored 20-intent models (copies, so each
// is loaded and held on its own).
const cacheMb = Number(process.env.NLU_MODEL_CACHE_MB ?? 64);
const served = await pool.query<{ id: string }>(
  `WITH t AS (INSERT INTO "Tenant" (id, name) SELECT gen_random_uuid(), 'Served ' || n FROM generate_series(1, 1000) n RETURNING id)
   SELECT id FROM t`,
);
await pool.query(
  `INSERT INTO "NluModel" (id, "tenantId", version, fingerprint, definition, weights)
   SELECT gen_random_uuid(), t.id, 1, '0:en', m.definition, m.weights
   FROM (SELECT id, row_number() OVER (ORDER BY id) % 10 AS k FROM "Tenant" WHERE name LIKE 'Served %') t
   JOIN (SELECT definition, weights, row_number() OVER (ORDER BY "tenantId") - 1 AS k FROM "NluModel" WHERE "tenantId" = ANY($1::uuid[])) m
   USING (k)`,
  [others.map((o) => o.id)],
);
const { storedMb } = (
  await pool.query<{ storedMb: number }>(
    `SELECT round(sum(octet_length(definition::text) + octet_length(weights)) / 1048576.0)::int AS "storedMb" FROM "NluModel" WHERE fingerprint = '0:en'`,
  )
).rows[0]!;
// Twice, a turn of the event loop apart: array buffers' memory (model weights) is released after
// the collection that finds them unreachable, so one collection alone can count the evicted.
const heapMb = async () => {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1048576;
};
const servingStore = createModelStore(db, { pool, maxBytes: cacheMb * 1048576 });
const version = { revision: "0", language: "en" };
// Word vectors (loaded once for every English model of 20 intents or more) are not the cache's.
await servingStore.load(served.rows[0]!.id, version);
const baseline = await heapMb();
const seriesMb: number[] = [];
for (const [i, { id }] of served.rows.entries()) {
  (await servingStore.load(id, version)).classify(phrases[i % phrases.length]!);
  if (i % 100 === 99) seriesMb.push(Math.round((await heapMb()) - baseline));
}
const heldMb = (await heapMb()) - baseline;
const bytesInCache = servingStore.bytes();
const loads: number[] = [];
for (const { id } of served.rows.slice(0, 100)) {
  const started = performance.now();
  await servingStore.load(id, version);
  loads.push(performance.now() - started);
}
loads.sort((a, b) => a - b);
const bigLoads: number[] = [];
for (let i = 0; i < 3; i++) {
  const started = performance.now();
  await createModelStore(db, { pool }).load(big.id);
  bigLoads.push(performance.now() - started);
}
bigLoads.sort((a, b) => a - b);

const round = (n: number) => Math.round(n * 10) / 10;
const figures = {
  ratePerSecond: 1000 / RATE_MS,
  quiet,
  whileTrainingInThread: inThread,
  whileTrainingOnEventLoop: onEventLoop,
  p99Ratio: round(inThread.p99Ms / quiet.p99Ms),
  bigTenantTrainingMs: trainingMs,
  tenantsServed: served.rows.length,
  storedMb,
  cacheMb,
  heapHeldMb: round(heldMb),
  heapEvery100TenantsMb: seriesMb,
  cacheEstimateMb: round(bytesInCache / 1048576),
  evictedLoadP50Ms: round(loads[50]!),
  evictedLoadP99Ms: round(loads[98]!),
  bigModelLoadMedianMs: round(bigLoads[1]!),
};
await pool.end();
await database.drop();
console.log(JSON.stringify(figures));
console.log(
  `other tenants' understanding at ${figures.ratePerSecond}/s, p99: quiet ${quiet.p99Ms} ms, while a 150-intent tenant trains in a thread ${inThread.p99Ms} ms (${figures.p99Ratio}×; training ${trainingMs} ms), on the event loop ${onEventLoop.p99Ms} ms; ` +
    `${figures.tenantsServed} tenants of 20 intents (${storedMb} MB stored) served within a ${cacheMb} MB cache: heap held ${figures.heapHeldMb} MB (the cache's estimate ${figures.cacheEstimateMb} MB; every 100 tenants ${seriesMb.join(", ")} MB); an evicted model loads in ${figures.evictedLoadP50Ms} ms (p99 ${figures.evictedLoadP99Ms} ms), the 150-intent one in ${figures.bigModelLoadMedianMs} ms`,
);
