import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import {
  crossValidate,
  currentVersion,
  evaluateTenant,
  evaluationOf,
  latestEvaluation,
  type IntentDefinition,
} from "../src/index.ts";
import { orderIdType, shopIntents } from "./fixtures.ts";

// The model report: stratified k-fold cross-validation on a tenant's own examples, computed in a
// worker thread and stored per training version.

/** Two intents a tenant wrote alike: their examples are bound to be taken for each other. */
const alike: IntentDefinition[] = [
  {
    name: "delivery.time",
    examples: [
      "when will my parcel come",
      "when does my parcel arrive",
      "how long until my parcel comes",
      "parcel arrival time",
      "when will it arrive",
    ],
  },
  {
    name: "delivery.date",
    examples: [
      "what day will my parcel come",
      "which day does my parcel arrive",
      "parcel arrival day",
      "on what day will it arrive",
      "the day my parcel comes",
    ],
  },
];
const intents = [
  ...shopIntents,
  ...alike,
  { name: "lonely", examples: ["only one example"] },
  { name: "welcome", examples: [], events: ["WELCOME"] },
];

test("every example of an intent with two or more is tested once, by a model trained without it", () => {
  const report = crossValidate(intents, { entityTypes: [orderIdType] });
  assert.equal(report.folds, 5);
  const byName = new Map(report.intents.map((i) => [i.intent, i]));
  for (const intent of intents.filter((i) => i.examples.length >= 2))
    assert.equal(byName.get(intent.name)?.tested, intent.examples.length, intent.name);
  assert.equal(
    report.tested,
    intents.filter((i) => i.examples.length >= 2).reduce((n, i) => n + i.examples.length, 0),
  );
  assert.deepEqual(byName.get("lonely"), { intent: "lonely", examples: 1, tested: 0, correct: 0, accuracy: null });
  assert.equal(byName.has("fallback"), false, "the fallback has no examples to test");
  for (const score of report.intents.filter((i) => i.tested))
    assert.equal(score.accuracy, Math.round((score.correct / score.tested) * 1e4) / 1e4);
  const correct = report.intents.reduce((n, i) => n + i.correct, 0);
  assert.equal(report.accuracy, Math.round((correct / report.tested) * 1e4) / 1e4);
});

test("intents confused with each other are listed as pairs, most first, with phrases taken for the other", () => {
  const report = crossValidate(intents, { entityTypes: [orderIdType] });
  const pair = report.confusions.find((c) => c.intent === "delivery.time" && c.predicted === "delivery.date");
  assert.ok(pair, JSON.stringify(report.confusions));
  assert.ok(pair.phrases.length > 0 && pair.phrases.length <= Math.min(3, pair.count));
  for (const phrase of pair.phrases) assert.ok(alike[0]!.examples.includes(phrase));
  const counts = report.confusions.map((c) => c.count);
  assert.deepEqual(
    counts,
    [...counts].sort((a, b) => b - a),
  );
  const wrong = report.intents.reduce((n, i) => n + i.tested - i.correct, 0);
  assert.equal(
    report.confusions.reduce((n, c) => n + c.count, 0),
    wrong,
    "every mistake is in one pair",
  );
});

test("intents with too few examples are named, fewest first; the fallback and event-only intents need none", () => {
  const report = crossValidate(intents, { entityTypes: [orderIdType] });
  assert.deepEqual(report.tooFewExamples, [
    { intent: "lonely", examples: 1 },
    { intent: "return.followup", examples: 2 },
    { intent: "crm.lookup", examples: 4 },
  ]);
});

test("the same data gives the same report (a fixed seed, in any order); fewer examples than five make fewer folds", () => {
  assert.deepEqual(crossValidate(intents), crossValidate([...intents].reverse()));
  const small = crossValidate([
    { name: "yes", examples: ["yes", "yep", "sure"] },
    { name: "no", examples: ["no", "nope", "never"] },
  ]);
  assert.equal(small.folds, 3);
  assert.equal(small.tested, 6);
});

let t: TestDatabase;
let tenantId: string;
before(async () => {
  t = await createTestDatabase();
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  await t.db.intent.createMany({
    data: intents.map((i) => ({
      tenantId,
      name: i.name,
      examples: i.examples,
      isFallback: i.isFallback ?? false,
      events: i.events ?? [],
    })),
  });
});
after(() => t.drop());

test("a tenant's report is computed once per training version and stored with it", async () => {
  const version = await currentVersion(t.db, tenantId);
  assert.equal(await evaluateTenant(t.db, tenantId), "stored");
  const stored = await evaluationOf(t.db, tenantId, version.fingerprint);
  assert.equal(stored?.status, "done");
  assert.equal(stored?.revision, version.revision);
  assert.deepEqual(stored?.report, crossValidate(intents, { language: "en" }));
  assert.equal(await evaluateTenant(t.db, tenantId), "already stored", "a repeated job stores nothing twice");
  assert.equal(await t.db.nluEvaluation.count({ where: { tenantId } }), 1);

  await t.db.intent.update({
    where: { tenantId_name: { tenantId, name: "lonely" } },
    data: { examples: ["only one example", "and now a second"] },
  });
  const next = await currentVersion(t.db, tenantId);
  assert.notEqual(next.fingerprint, version.fingerprint);
  assert.equal(await evaluateTenant(t.db, tenantId), "stored");
  const latest = await latestEvaluation(t.db, tenantId);
  assert.equal(latest?.fingerprint, next.fingerprint);
  assert.equal(latest?.report?.intents.find((i) => i.intent === "lonely")?.tested, 2);
  // A job for a tenant deleted meanwhile ends quietly (no retries).
  assert.equal(await evaluateTenant(t.db, "00000000-0000-4000-8000-000000000000"), "no tenant");
});

test("past its time limit the thread is ended and the report stored as failed; the job's own end stores nothing", async () => {
  const other = (await t.db.tenant.create({ data: { name: "Slow" } })).id;
  await t.db.intent.createMany({
    data: intents.map((i) => ({ tenantId: other, name: i.name, examples: i.examples })),
  });
  const stopping = new AbortController();
  stopping.abort(new Error("the worker is stopping"));
  await assert.rejects(evaluateTenant(t.db, other, { signal: stopping.signal }), /the worker is stopping/);
  assert.equal(await t.db.nluEvaluation.count({ where: { tenantId: other } }), 0);

  assert.equal(await evaluateTenant(t.db, other, { timeLimitMs: 5 }), "stored");
  const { fingerprint } = await currentVersion(t.db, other);
  const failed = await evaluationOf(t.db, other, fingerprint);
  assert.equal(failed?.status, "failed");
  assert.equal(failed?.error, "took longer than 0.005 s");
  assert.equal(failed?.report, null);
  assert.equal(await latestEvaluation(t.db, other), null, "no finished report to show");
});

test("the cross-validation runs off the event loop: the caller's loop keeps turning", async () => {
  // 30 CLINC150 intents × 20 examples: word vectors on, five trainings of a real size.
  const data = JSON.parse(readFileSync(new URL("../bench/data/data_train_val.json", import.meta.url), "utf8")) as {
    train: [string, string][];
  };
  const byIntent = new Map<string, string[]>();
  for (const [text, intent] of data.train) byIntent.set(intent, [...(byIntent.get(intent) ?? []), text]);
  const big = (await t.db.tenant.create({ data: { name: "Big" } })).id;
  await t.db.intent.createMany({
    data: [...byIntent]
      .slice(0, 30)
      .map(([name, examples]) => ({ tenantId: big, name, examples: examples.slice(0, 20) })),
  });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = performance.now();
  assert.equal(await evaluateTenant(t.db, big), "stored");
  const took = performance.now() - started;
  delay.disable();
  const maxMs = delay.max / 1e6;
  assert.ok(maxMs < Math.max(100, took / 10), `the loop stalled ${maxMs.toFixed(0)} ms of ${took.toFixed(0)} ms`);
});
