import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { authenticateApiKey, hashSecret, KEY_ID, newKey, SCOPES } from "../src/keys.ts";

let t: TestDatabase;
let tenantId: string;

before(async () => {
  t = await createTestDatabase();
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
});
after(() => t.drop());

/** A key issued and stored the way the API does. */
async function issue(scopes: string[]) {
  const key = newKey();
  await t.db.apiKey.create({
    data: { id: key.id, tenantId, name: "k", scopes, secretHash: key.hash, hint: key.secret.slice(-4) },
  });
  return key;
}

test("a new key is cbk_<id>_<secret>, with 32 random bytes of secret, and only the secret's SHA-256 to store", () => {
  const keys = Array.from({ length: 20 }, () => newKey());
  for (const key of keys) {
    assert.match(key.id, KEY_ID);
    assert.match(key.secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key.secret, "base64url").length, 32);
    assert.equal(key.key, `cbk_${key.id}_${key.secret}`);
    assert.equal(key.hash, createHash("sha256").update(key.secret).digest("hex"));
    assert.equal(hashSecret(key.secret), key.hash);
    assert.ok(!key.hash.includes(key.secret));
  }
  assert.equal(new Set(keys.map((k) => k.id)).size, 20);
  assert.equal(new Set(keys.map((k) => k.secret)).size, 20);
  assert.deepEqual([...SCOPES].sort(), ["admin", "events", "read-only"]);
});

test("a stored key authenticates as its tenant with its scopes", async () => {
  const key = await issue(["read-only", "events"]);
  assert.deepEqual(await authenticateApiKey(t.db, key.key), {
    tenantId,
    keyId: key.id,
    scopes: ["read-only", "events"],
  });
});

test("a wrong secret, an unknown id, a revoked key or a malformed one authenticates as nobody", async () => {
  const key = await issue(["admin"]);
  const other = newKey();
  assert.equal(await authenticateApiKey(t.db, `cbk_${key.id}_${other.secret}`), null, "another secret");
  assert.equal(await authenticateApiKey(t.db, other.key), null, "never stored");
  for (const malformed of [
    key.key.slice(4),
    `cbx_${key.id}_${key.secret}`,
    `${key.key}x`,
    `x${key.key}`,
    `cbk_${key.id}_${key.secret.slice(1)}`,
    `cbk_${key.id.slice(1)}_${key.secret}`,
    `cbk_${key.id}-${key.secret}`,
    `cbk_${key.id}_${key.secret.slice(0, -1)}!`,
    `cbk_${key.id}_${key.secret}\n`,
    "",
  ]) {
    assert.equal(await authenticateApiKey(t.db, malformed), null, JSON.stringify(malformed));
  }
  await t.db.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } });
  assert.equal(await authenticateApiKey(t.db, key.key), null, "revoked");
});
