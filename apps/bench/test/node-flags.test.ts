import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { nodeFlags } from "../src/process.ts";

// The benchmarks measure the roles as the image runs them: the same young generation for each.
test("the benchmarks start each role with the image's flags: a larger young generation for the worker", () => {
  const start = readFileSync(new URL("../../../docker/start.sh", import.meta.url), "utf8");
  const flagsOf = (entry: string) =>
    start
      .split("\n")
      .find((line) => line.includes(entry))!
      .match(/--max-semi-space-size=\d+/g);
  assert.deepEqual(flagsOf("apps/worker/src/main.ts"), ["--max-semi-space-size=16"]);
  assert.deepEqual(flagsOf("apps/server/src/main.ts"), null, "the web role keeps the image's NODE_OPTIONS (4)");
  assert.ok(nodeFlags("/x/apps/worker/src/main.ts").includes("--max-semi-space-size=16"));
  assert.ok(nodeFlags("/x/apps/bench/src/ingest-server.ts").includes("--max-semi-space-size=4"));
});
