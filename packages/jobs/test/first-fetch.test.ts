import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createTestDatabase } from "@cb/db/testing";
import { captureLogs, LEVEL } from "@cb/logging/testing";
import { addJob, startWorker } from "../src/index.ts";

// graphile-worker keeps a failed lookup of its task ids for the runner's life: a runner whose first
// fetch fails (its connection cut at that moment) would never run a job. The failure is made certain
// here: the first statement of the runner's connections that registers task names fails as a cut
// connection does (admin_shutdown), once.
test("a runner whose first fetch failed is started again, and runs jobs", async () => {
  const t = await createTestDatabase();
  const { logger, lines } = captureLogs();
  await t.pool.query(`
    CREATE SEQUENCE first_fetch_attempts;
    CREATE FUNCTION fail_first_fetch() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_setting('application_name') = 'runner-under-test' AND nextval('first_fetch_attempts') = 1 THEN
        RAISE EXCEPTION 'terminating connection due to administrator command' USING ERRCODE = 'admin_shutdown';
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER fail_first_fetch BEFORE INSERT ON graphile_worker._private_tasks
      FOR EACH STATEMENT EXECUTE FUNCTION fail_first_fetch();`);
  const url = new URL(t.url);
  url.searchParams.set("application_name", "runner-under-test");
  let ran = 0;
  const runner = await startWorker({
    connectionString: url.href,
    pollIntervalMs: 100,
    firstFetchWithinMs: 1_000,
    logger,
    taskList: {
      fine: async () => {
        ran++;
      },
    },
  });
  try {
    const failed = async () =>
      (await t.pool.query<{ is_called: boolean }>("SELECT is_called FROM first_fetch_attempts")).rows[0]!.is_called;
    for (let i = 0; i < 200 && !(await failed()); i++) await sleep(50);
    assert.ok(await failed(), "the runner's first fetch failed");

    await addJob(t.pool, "fine", {});
    for (let i = 0; i < 300 && ran === 0; i++) await sleep(50);
    assert.equal(ran, 1, "the job ran");
    assert.ok(runner.restarts >= 1, "on a runner started again");
    const warned = lines.find((l) => l.msg === "job runner has not fetched jobs since it started; starting it again");
    assert.equal(warned?.level, LEVEL.warn);
    assert.ok(
      !lines.some((l) => l.msg === "job runner stopped without being told to; starting it again"),
      "a runner stopped for that is not reported as one that ended by itself",
    );
  } finally {
    await runner.stop();
    await t.drop();
  }
});
