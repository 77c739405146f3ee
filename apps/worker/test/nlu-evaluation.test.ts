import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { sleep, startStack, type Stack } from "./support.ts";

// GET /v1/nlu/evaluation with the worker role: 202 while a worker computes the report (one job per
// tenant and training version, however often it is asked for), then 200 with it; a change to the
// training data makes it stale, with the previous report shown meanwhile.
let stack: Stack;
let key: string;

const call = (method: string, url: string, payload?: object) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });
const evaluation = () => call("GET", "/v1/nlu/evaluation");

/** Asks until the report is current, as a client following Retry-After does (quicker). */
async function untilCurrent(): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const response = await evaluation();
    if (response.statusCode === 200) return response.json();
    assert.equal(response.statusCode, 202, response.body);
    await sleep(100);
  }
  throw new Error("the report was never computed");
}

before(async () => {
  stack = await startStack({ worker: false });
  const created = await stack.app.inject({
    method: "POST",
    url: "/v1/tenants",
    headers: { authorization: "Bearer operator-token-for-tests" },
    payload: { name: "Acme" },
  });
  key = created.json().apiKey.key;
  for (const [name, examples] of [
    ["greeting", ["hi", "hello", "good morning", "hey there", "hello, anyone there?"]],
    ["order.status", ["where is my order", "track my parcel", "has my order shipped", "when will it arrive"]],
    ["thanks", ["thanks", "thank you", "cheers", "much appreciated", "thanks a lot"]],
  ] as const)
    assert.equal((await call("POST", "/v1/intents", { name, examples: [...examples] })).statusCode, 201);
});
after(() => stack.close());

test("the report is computed in the background once per training version, then served with it", async () => {
  const first = await evaluation();
  assert.equal(first.statusCode, 202);
  assert.equal(first.headers["retry-after"], "5");
  const pending = first.json();
  assert.equal(pending.status, "computing");
  assert.equal(pending.report, null);
  assert.equal((await evaluation()).statusCode, 202);
  const jobs = await stack.t.pool.query(`SELECT key FROM graphile_worker.jobs WHERE task_identifier = 'nlu-evaluate'`);
  assert.equal(jobs.rows.length, 1, "asked twice, one job");
  assert.match(jobs.rows[0].key, new RegExp(`:${pending.trainingRevision}:en$`));

  await stack.startWorker();
  const done = await untilCurrent();
  assert.equal(done.status, "current");
  assert.equal(done.evaluatedRevision, pending.trainingRevision);
  assert.equal(done.report.folds, 5);
  assert.deepEqual(
    done.report.intents.map((i: { intent: string }) => i.intent),
    ["greeting", "order.status", "thanks"],
  );
  assert.deepEqual(done.report.tooFewExamples, [{ intent: "order.status", examples: 4 }]);

  // New training data: the report is stale until recomputed; the previous one is shown meanwhile.
  const intents = (await call("GET", "/v1/intents")).json().data;
  const order = intents.find((i: { name: string }) => i.name === "order.status");
  await call("PUT", `/v1/intents/${order.id}`, {
    name: "order.status",
    examples: [...order.examples, "where's my stuff"],
  });
  const stale = await evaluation();
  assert.equal(stale.statusCode, 202);
  assert.equal(stale.json().evaluatedRevision, done.evaluatedRevision);
  assert.notEqual(stale.json().trainingRevision, done.trainingRevision);
  assert.deepEqual(stale.json().report, done.report);
  const again = await untilCurrent();
  assert.equal(again.evaluatedRevision, stale.json().trainingRevision);
  assert.deepEqual(again.report.tooFewExamples, []);
});

test("each trained version gets its report without anyone asking", async () => {
  const created = await call("POST", "/v1/intents", {
    name: "goodbye",
    examples: ["bye", "goodbye", "see you", "see you later", "farewell"],
  });
  assert.equal(created.statusCode, 201);
  const { trainingRevision } = (
    await stack.t.pool.query(`SELECT "trainingRevision"::text FROM "Tenant" WHERE name = 'Acme'`)
  ).rows[0];
  // No GET: the training job, once it has stored the model, asks for the report itself.
  for (let i = 0; i < 600; i++) {
    const { rows } = await stack.t.pool.query(`SELECT status FROM "NluEvaluation" WHERE fingerprint = $1`, [
      `${trainingRevision}:en`,
    ]);
    if (rows.length) {
      assert.equal(rows[0].status, "done");
      return;
    }
    await sleep(100);
  }
  assert.fail("no report was computed for the trained version");
});
