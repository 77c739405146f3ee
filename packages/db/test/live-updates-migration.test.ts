import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { runMigrations } from "graphile-worker";
import pg from "pg";
import { dbPackageDir } from "../src/migrate.ts";
import { createTestDatabase } from "../src/testing.ts";

// The live-updates migration on a database with conversations already: each gets its last activity,
// last message and customer from the messages it has, or its creation when it has none.
const LIVE = "20261207020000_live_updates";

test("existing conversations are backfilled from their messages", async () => {
  const database = await createTestDatabase({ migrated: false });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await runMigrations({ connectionString: database.url });
    const dir = join(dbPackageDir, "prisma", "migrations");
    const names = (await readdir(dir)).filter((n) => !n.endsWith(".toml")).sort();
    assert.ok(names.includes(LIVE));
    const apply = async (name: string) => client.query(await readFile(join(dir, name, "migration.sql"), "utf8"));
    for (const name of names.filter((n) => n < LIVE)) await apply(name);

    const {
      rows: [ids],
    } = await client.query(`
      WITH t AS (INSERT INTO "Tenant" (id, name) VALUES (gen_random_uuid(), 'Acme') RETURNING id),
      a AS (INSERT INTO "ChannelAccount" (id, "tenantId", channel, name, secrets) SELECT gen_random_uuid(), id, 'telegram', 'bot', 'x' FROM t RETURNING id, "tenantId"),
      c AS (INSERT INTO "Conversation" (id, "tenantId", "channelAccountId", "externalId", "createdAt")
            SELECT gen_random_uuid(), "tenantId", id, x, '2026-11-01T00:00:00Z' FROM a, unnest(ARRAY['1', '2']) x RETURNING id, "externalId")
      SELECT (SELECT id FROM c WHERE "externalId" = '1') AS talked, (SELECT id FROM c WHERE "externalId" = '2') AS silent`);
    const { rows: messages } = await client.query(
      `INSERT INTO "Message" (id, "tenantId", "channelAccountId", "conversationId", direction, "dedupeKey", content, status, "createdAt", "updatedAt")
       SELECT gen_random_uuid(), c."tenantId", c."channelAccountId", c.id, m.direction, m.key, m.content::jsonb, 'sent', m.at::timestamptz, now()
       FROM "Conversation" c, (VALUES
         ('in', 'a', '{"text": "hi", "sender": {"externalId": "u1", "name": "Ada", "username": "ada"}}', '2026-11-02T00:00:00Z'),
         ('out', 'b', '{"type": "text", "text": "Hello!"}', '2026-11-03T00:00:00Z')) AS m(direction, key, content, at)
       WHERE c.id = $1 RETURNING id, direction`,
      [ids.talked],
    );

    await apply(LIVE);
    const { rows } = await client.query(
      `SELECT id, "lastActivityAt", "lastMessageId", "customerName", "customerUsername", "customerExternalId" FROM "Conversation" ORDER BY "externalId"`,
    );
    assert.deepEqual(rows, [
      {
        id: ids.talked,
        lastActivityAt: new Date("2026-11-03T00:00:00Z"),
        lastMessageId: messages.find((m) => m.direction === "out").id,
        customerName: "Ada",
        customerUsername: "ada",
        customerExternalId: "u1",
      },
      {
        id: ids.silent,
        lastActivityAt: new Date("2026-11-01T00:00:00Z"),
        lastMessageId: null,
        customerName: null,
        customerUsername: null,
        customerExternalId: null,
      },
    ]);
  } finally {
    await client.end();
    await database.drop();
  }
});
