import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs, LEVEL } from "@cb/logging/testing";
import { EventEmitter } from "node:events";
import { createPool } from "@cb/db";
import { addJob, keepQueuesCollected, keepWorkersAlive, startWorker, type WorkerEvents } from "../src/index.ts";

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(() => t.drop());

async function until(done: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test("graphile-worker logs through the process logger: failures with their job, not each completed job; secrets redacted", async () => {
  const { logger, lines, text } = captureLogs("debug");
  let ran = 0;
  const runner = await startWorker({
    connectionString: t.url,
    pollIntervalMs: 100,
    logger,
    taskList: {
      fine: async () => {
        ran++;
      },
      noisy: async (_payload, helpers) => {
        ran++;
        helpers.logger.error("task found a problem", { account: { botToken: "123:secret-bot-token" } });
      },
      broken: async () => {
        ran++;
        throw new Error("the backend said no");
      },
    },
  });
  try {
    await addJob(t.pool, "fine", {});
    await addJob(t.pool, "noisy", {});
    await addJob(t.pool, "broken", {}, { maxAttempts: 1 });
    await until(() => ran === 3 && lines.some((l) => /the backend said no/.test(String(l.msg))), "the jobs");

    const failed = lines.find((l) => /the backend said no/.test(String(l.msg)))!;
    assert.equal(failed.level, LEVEL.error);
    assert.equal(failed.taskIdentifier, "broken", "with the scope graphile-worker names");
    const noisy = lines.find((l) => l.msg === "task found a problem")!;
    assert.equal(noisy.level, LEVEL.error);
    assert.equal(noisy.taskIdentifier, "noisy");
    assert.deepEqual(noisy.account, { botToken: "[Redacted]" });
    assert.ok(!text().includes("secret-bot-token"));
    assert.ok(
      lines.every((l) => l.level >= LEVEL.warn),
      "completed jobs and other info lines are not logged, even at debug",
    );
  } finally {
    await runner.stop();
  }
});

// Cut while the runner makes its first fetch, the connections leave it unable to fetch at all until
// it is started again (FIRST_FETCH_MS after its start; first-fetch.test.ts makes that case certain).
test("a job database connection dropped by the server is logged as a warning, and jobs still run", async () => {
  const { logger, lines } = captureLogs();
  const url = new URL(t.url);
  url.searchParams.set("application_name", "jobs-under-test");
  let ran = 0;
  const runner = await startWorker({
    connectionString: url.href,
    pollIntervalMs: 100,
    logger,
    taskList: {
      fine: async () => {
        ran++;
      },
    },
  });
  try {
    const lost = () => lines.find((l) => l.msg === "job database connection lost; a new one is opened on next use");
    // Again until seen: under load the runner may not have opened its connections yet.
    for (let i = 0; i < 100 && !lost(); i++) {
      await t.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
        "jobs-under-test",
      ]);
      await sleep(200);
    }
    assert.equal(lost()?.level, LEVEL.warn, "the loss is logged");
    await addJob(t.pool, "fine", {});
    // A runner whose first fetch failed is started again after FIRST_FETCH_MS (10 s) and a second's
    // pause; slower under CI load.
    await until(() => ran === 1, "a job after the loss", 40_000);
  } finally {
    await runner.stop();
  }
});

test("a queue collection round that fails is logged as an error", async () => {
  const { logger, lines } = captureLogs();
  const pool = createPool(t.url, { max: 1 });
  await pool.end(); // every query now fails
  const collecting = keepQueuesCollected({ pool, prefixes: ["conversation:"], intervalMs: 20, logger });
  try {
    await until(() => lines.length > 0, "the failure to be logged");
    assert.equal(lines[0]!.level, LEVEL.error);
    assert.equal(lines[0]!.msg, "job queue collection failed");
    assert.ok(lines[0]!.err, "with the error");
  } finally {
    await collecting.stop();
  }
});

test("a liveness connection dropped by the server is logged as an error", async () => {
  const { logger, lines } = captureLogs();
  const url = new URL(t.url);
  url.searchParams.set("application_name", "liveness-under-test");
  const events: WorkerEvents = new EventEmitter();
  const liveness = await keepWorkersAlive({ connectionString: url.href, events, intervalMs: 50, logger });
  try {
    const failed = () => lines.find((l) => l.msg === "worker liveness check failed");
    for (let i = 0; i < 100 && !failed(); i++) {
      await t.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
        "liveness-under-test",
      ]);
      await sleep(100);
    }
    assert.equal(failed()?.level, LEVEL.error, "the failure is logged");
  } finally {
    await liveness.stop();
  }
});
