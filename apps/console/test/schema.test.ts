import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { SCHEMA_FILE, schemaSource } from "../scripts/schema.ts";

test("the committed API types match the server's OpenAPI document (else: npm run openapi -w @cb/console)", async () => {
  const committed = await readFile(SCHEMA_FILE, "utf8");
  const current = await schemaSource();
  assert.ok(current.includes('"/v1/conversations"'), "the generated types cover the admin API");
  assert.equal(committed, current);
});
