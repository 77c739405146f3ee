import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKey } from "@cb/secrets";
import { createTestDatabase } from "@cb/db/testing";
import { loadConfig, openRuntime } from "../src/index.ts";

test("the runtime's pool has the configured size", async () => {
  const t = await createTestDatabase();
  try {
    const config = loadConfig({ DATABASE_URL: t.url, SECRETS_KEYS: generateKey("k1"), LOG_LEVEL: "silent" }, "worker");
    const runtime = await openRuntime(config);
    try {
      assert.equal(runtime.pool.options.max, 8);
    } finally {
      await runtime.close();
    }
  } finally {
    await t.drop();
  }
});
