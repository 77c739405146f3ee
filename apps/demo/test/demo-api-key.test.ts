import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newKey } from "@cb/admin-api";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { DEMO_TENANT_ID, demoApiKey } from "../src/seed.ts";

// Each `npm start` used to mint a new demo key while the old ones stayed valid: the stored key is kept
// as long as the admin API accepts it as the demo tenant's admin key.
let t: TestDatabase;
let dir: string;
let keyFile: string;

before(async () => {
  t = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), "cb-demo-key-"));
  keyFile = join(dir, "demo-api-key");
  await t.db.tenant.create({ data: { id: DEMO_TENANT_ID, name: "Demo Shop" } });
});
after(async () => {
  await t.drop();
  await rm(dir, { recursive: true, force: true });
});

/** A key row with a chosen id (ids are base64url: they may hold "_", which a key's separators also are). */
async function storedKey(id: string, tenantId: string, scopes = ["admin"], name = "k"): Promise<string> {
  const key = newKey();
  await t.db.apiKey.create({
    data: { id, tenantId, name, scopes, secretHash: key.hash, hint: key.secret.slice(-4) },
  });
  return `cbk_${id}_${key.secret}`;
}

test("the first start makes a key and stores it; later starts reuse it", async () => {
  const first = await demoApiKey(t.db, keyFile);
  assert.equal((await readFile(keyFile, "utf8")).trim(), first);
  assert.equal(await demoApiKey(t.db, keyFile), first);
  assert.equal(await demoApiKey(t.db, keyFile), first);
  assert.equal(await t.db.apiKey.count({ where: { tenantId: DEMO_TENANT_ID } }), 1);
});

test("a stored key whose id holds an underscore is reused too", async () => {
  const key = await storedKey("ab_cd-ef_gh1", DEMO_TENANT_ID);
  await writeFile(keyFile, `${key}\n`);
  const before = await t.db.apiKey.count();
  assert.equal(await demoApiKey(t.db, keyFile), key);
  assert.equal(await t.db.apiKey.count(), before);
});

test("a key the API would refuse, or not as the demo's admin, is replaced", async () => {
  const other = await t.db.tenant.create({ data: { name: "Other" } });
  const refused = [
    await storedKey("revoked__key", DEMO_TENANT_ID),
    await storedKey("othertenant1", other.id),
    await storedKey("readonlykey1", DEMO_TENANT_ID, ["read-only"]),
    `cbk_revoked__key_${"x".repeat(43)}`, // a known id with a wrong secret
    "not a key",
  ];
  await t.db.apiKey.update({ where: { id: "revoked__key" }, data: { revokedAt: new Date() } });
  for (const key of refused) {
    await writeFile(keyFile, `${key}\n`);
    const replaced = await demoApiKey(t.db, keyFile);
    assert.notEqual(replaced, key);
    assert.equal((await readFile(keyFile, "utf8")).trim(), replaced);
    assert.equal(await demoApiKey(t.db, keyFile), replaced, "and the replacement is kept");
  }
});

test("a new demo key revokes the demo keys made before it; the tenant's other keys stay", async () => {
  const earlier = [
    await storedKey("lostdemokey1", DEMO_TENANT_ID, ["admin"], "demo"),
    await storedKey("lostdemokey2", DEMO_TENANT_ID, ["admin"], "demo"),
  ];
  await storedKey("ownadminkey1", DEMO_TENANT_ID, ["admin"], "mine");
  await writeFile(keyFile, "cbk_gone\n");
  const fresh = await demoApiKey(t.db, keyFile);
  const valid = await t.db.apiKey.findMany({ where: { tenantId: DEMO_TENANT_ID, revokedAt: null } });
  const ids = valid.map((k) => k.id);
  assert.ok(ids.includes(fresh.slice(4, 16)), "the new key");
  assert.ok(ids.includes("ownadminkey1"), "a key made through the API stays");
  for (const key of earlier) assert.ok(!ids.includes(key.slice(4, 16)), "an earlier demo key is revoked");
});
