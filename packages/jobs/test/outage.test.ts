import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs, LEVEL } from "@cb/logging/testing";
import { addJob, MAX_OUTAGES_A_RUN, resumeAfterOutage, startWorker, type JobHelpers, type Task } from "../src/index.ts";

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(() => t.drop());

// What a query on a connection cut by a database restart fails with.
const cut = () => Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });

test("a job whose task failed because the database went away runs again at once, in the same attempt", async () => {
  const { logger, lines } = captureLogs();
  const runs: { at: number; attempts: number }[] = [];
  const runner = await startWorker({
    connectionString: t.url,
    pollIntervalMs: 100,
    logger,
    taskList: {
      flaky: async (_payload, helpers) => {
        runs.push({ at: Date.now(), attempts: helpers.job.attempts });
        if (runs.length === 1) throw cut();
      },
      broken: async () => {
        throw new Error("the payload is wrong");
      },
    },
  });
  try {
    await addJob(t.pool, "flaky", {});
    for (let i = 0; i < 200 && runs.length < 2; i++) await sleep(50);
    assert.equal(runs.length, 2, "it ran again");
    assert.deepEqual(
      runs.map((r) => r.attempts),
      [1, 1],
      "within the job's first attempt",
    );
    // graphile-worker's own retry would come after e seconds at least.
    assert.ok(runs[1]!.at - runs[0]!.at < 2_000, `at once (${runs[1]!.at - runs[0]!.at} ms)`);
    assert.ok(!lines.some((l) => /Failed task/.test(String(l.msg))), "the job did not fail");
    const warned = lines.find(
      (l) => l.msg === "job failed as the database went away; it runs again once the database answers",
    );
    assert.equal(warned?.level, LEVEL.warn, "said, not swallowed");
    assert.equal((warned?.err as { message?: string } | undefined)?.message, cut().message);

    // Any other error fails the job as before.
    await addJob(t.pool, "broken", {}, { maxAttempts: 1 });
    for (let i = 0; i < 200 && !lines.some((l) => /the payload is wrong/.test(String(l.msg))); i++) await sleep(50);
    assert.ok(lines.some((l) => /Failed task .*the payload is wrong/s.test(String(l.msg))));
  } finally {
    await runner.stop();
  }
});

test("a task the database keeps failing under fails after MAX_OUTAGES_A_RUN outages in one run", async () => {
  let runs = 0;
  const task: Task = async () => {
    runs++;
    throw cut();
  };
  const warnings: string[] = [];
  const helpers = {
    abortSignal: new AbortController().signal,
    logger: { warn: (message: string) => warnings.push(message) },
  } as unknown as JobHelpers;
  await assert.rejects(Promise.resolve(resumeAfterOutage(task, t.pool)({}, helpers)), /administrator command/);
  assert.equal(runs, MAX_OUTAGES_A_RUN + 1);
  assert.equal(warnings.length, MAX_OUTAGES_A_RUN, "each outage sat through is said");
});
