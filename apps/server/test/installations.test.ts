import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { driver as slackDriver } from "@cb/channel-slack";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { installationSaver } from "../src/index.ts";

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t.drop();
});

test("installations of one platform account racing each other store one account; a reinstall refreshes it", async () => {
  const tenant = await t.db.tenant.create({ data: { name: "Acme" } });
  const changed: string[] = [];
  const save = installationSaver(
    t.db,
    createSealer(parseKeyRing(generateKey("k"))),
    { ...slackDriver, install: slackDriver.install! },
    (id) => changed.push(id),
  );
  const installation = (token: string) => ({
    name: "Acme workspace",
    config: { teamId: "T-RACE", botUserId: "UB" },
    secrets: { botToken: token },
  });
  await Promise.all(Array.from({ length: 8 }, (_, i) => save(tenant.id, installation(`xoxb-${i}`))));
  const accounts = await t.db.channelAccount.findMany({ where: { tenantId: tenant.id } });
  assert.equal(accounts.length, 1, "one account for the workspace");
  assert.equal(changed.length, 7, "the seven installations after the first refreshed it");
  assert.deepEqual(new Set(changed), new Set([accounts[0]!.id]));
});
