import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs, LEVEL } from "@cb/logging/testing";
import { addJob, startWorker } from "../src/index.ts";

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(() => t.drop());

async function until(done: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 20_000;
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
    await t.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
      "jobs-under-test",
    ]);
    const lost = () => lines.find((l) => l.msg === "job database connection lost; a new one is opened on next use");
    await until(() => lost() !== undefined, "the loss to be logged");
    assert.equal(lost()!.level, LEVEL.warn);
    await addJob(t.pool, "fine", {});
    await until(() => ran === 1, "a job after the loss");
  } finally {
    await runner.stop();
  }
});
