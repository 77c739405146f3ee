import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyPassword } from "@cb/admin-api";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { demoOperator } from "../src/operator.ts";
import { DEMO_TENANT_ID } from "../src/seed.ts";

// The demo's admin operator keeps its password across starts, as the demo key does.
let t: TestDatabase;
let dir: string;
let file: string;

before(async () => {
  t = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), "cb-demo-operator-"));
  file = join(dir, "demo-operator-password");
  await t.db.tenant.create({ data: { id: DEMO_TENANT_ID, name: "Demo Shop" } });
});
after(async () => {
  await t.drop();
  await rm(dir, { recursive: true, force: true });
});

const row = () => t.db.operator.findUniqueOrThrow({ where: { email: "demo@example.com" } });

test("the first start makes an admin of the demo tenant and keeps its password (owner-only); later starts reuse it", async () => {
  const first = await demoOperator(t.db, file);
  assert.equal(first.email, "demo@example.com");
  assert.ok(first.password.length >= 12, "long enough to be accepted as a password");
  assert.equal((await readFile(file, "utf8")).trim(), first.password);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const operator = await row();
  assert.deepEqual([operator.tenantId, operator.role, operator.disabled], [DEMO_TENANT_ID, "admin", false]);
  assert.ok(await verifyPassword(operator.passwordHash, first.password));
  assert.deepEqual(await demoOperator(t.db, file), first);
  assert.equal((await row()).passwordHash, operator.passwordHash, "not hashed again");
});

test("a stored password that no longer signs in as an enabled admin is replaced, and sessions end", async () => {
  const { password } = await demoOperator(t.db, file);
  const { id } = await row();
  const session = () =>
    t.db.operatorSession.create({
      data: {
        id: `s-${Math.random()}`,
        operatorId: id,
        csrfToken: "c",
        expiresAt: new Date(),
        absoluteExpiresAt: new Date(),
      },
    });
  for (const change of [
    () => writeFile(file, "not the password\n"),
    () => t.db.operator.update({ where: { id }, data: { disabled: true } }),
    () => t.db.operator.update({ where: { id }, data: { role: "viewer" } }),
    () => rm(file),
  ]) {
    await session();
    await change();
    const replaced = await demoOperator(t.db, file);
    assert.notEqual(replaced.password, password);
    const operator = await row();
    assert.deepEqual([operator.role, operator.disabled], ["admin", false]);
    assert.ok(await verifyPassword(operator.passwordHash, replaced.password));
    assert.equal((await readFile(file, "utf8")).trim(), replaced.password);
    assert.equal(await t.db.operatorSession.count({ where: { operatorId: id } }), 0);
  }
});

test("demo@example.com of another tenant is not taken over", async () => {
  const other = await t.db.tenant.create({ data: { name: "Other" } });
  await t.db.operator.update({ where: { email: "demo@example.com" }, data: { tenantId: other.id } });
  await assert.rejects(demoOperator(t.db, file), /operator of another tenant/);
  assert.equal((await row()).tenantId, other.id);
});
