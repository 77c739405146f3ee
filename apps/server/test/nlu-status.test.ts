import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTrainer, trainTenantModel } from "@cb/nlu";
import { startAdminServer, type AdminServer } from "./support.ts";

let server: AdminServer;
before(async () => {
  server = await startAdminServer();
});
after(() => server.close());

test("GET /v1/nlu/status: the model in use and its training job, queued by any change of the training data", async () => {
  const { tenantId, key } = await server.tenant("Acme");
  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: object) => {
    const response = await server.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload });
    assert.ok(response.statusCode < 300, response.body);
    return response.json();
  };
  const status = () => call("GET", "/v1/nlu/status");
  assert.deepEqual(await status(), { revision: "0", language: "en", model: null, training: null });

  await call("POST", "/v1/intents", { name: "greeting", examples: ["hi", "hello"] });
  const bye = await call("POST", "/v1/intents", { name: "bye", examples: ["bye", "see you"] });
  const queued = await status();
  assert.equal(queued.model, null);
  assert.deepEqual(
    { ...queued.training, runAt: undefined },
    { state: "queued", attempts: 0, maxAttempts: 10, lastError: null, runAt: undefined },
  );

  // As graphile-worker leaves a job that failed its last attempt.
  await server.t.pool.query(
    `UPDATE graphile_worker._private_jobs SET attempts = max_attempts, last_error = 'the training thread exited (code 1) without a model'`,
  );
  const failed = (await status()).training;
  assert.equal(failed.state, "failed");
  assert.equal(failed.lastError, "the training thread exited (code 1) without a model");
  await server.t.pool.query(`UPDATE graphile_worker._private_jobs SET attempts = 1`);
  assert.equal((await status()).training.state, "retrying");

  // Done: graphile-worker deletes a completed job.
  await trainTenantModel(server.t.db, tenantId, { trainer: createTrainer() });
  await server.t.pool.query(`DELETE FROM graphile_worker._private_jobs`);
  const trained = await status();
  assert.equal(trained.training, null);
  assert.equal(trained.model.version, 1);
  assert.equal(trained.model.current, true);

  await call("PUT", `/v1/intents/${bye.id}`, { name: "bye", examples: ["bye", "see you", "goodbye"] });
  const changed = await status();
  assert.equal(changed.model.current, false, "the previous model answers until the new one is stored");
  assert.equal(changed.training.state, "queued");
});
