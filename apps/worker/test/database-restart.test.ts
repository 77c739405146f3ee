import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory } from "@cb/conversation";
import { createDb, createPool, migrate, startEmbeddedPostgres, type EmbeddedDatabase } from "@cb/db";
import { emitEvent } from "@cb/event-webhooks";
import { generateSigningSecret } from "@cb/fulfillment";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { startWorkerRole } from "../src/index.ts";
import { sleep } from "./support.ts";

// A server of its own (embedded PostgreSQL), since restarting the shared one would cut off every
// other test file running beside this one.
test("a database restart in the middle of a delivery: the event is still delivered, with the same id", async () => {
  const root = await mkdtemp(join(tmpdir(), "cb-restart-"));
  await chmod(root, 0o755); // PostgreSQL runs as its own user when the tests run as root
  const dataDir = join(root, "pg");
  const port = 55_000 + Math.floor(Math.random() * 5_000);
  let database: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir, port });
  await migrate(database.url);

  // The first attempt is held open while the database goes away and comes back; then answered.
  const hits: string[] = [];
  let held: ServerResponse | undefined;
  const receiver = createServer((req, res) => {
    req.resume();
    hits.push(String(req.headers["webhook-id"]));
    if (hits.length === 1) held = res;
    else res.end("ok");
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));

  const keys = generateKey("test");
  const sealer = createSealer(parseKeyRing(keys));
  const pool = createPool(database.url);
  const db = createDb(pool);
  const worker = await startWorkerRole({
    databaseUrl: database.url,
    db,
    pool,
    sealer,
    accounts: createAccountDirectory({ db, sealer, drivers: [telegramDriver], env: {} }),
    config: {
      WORKER_CONCURRENCY: 2,
      WORKER_HEARTBEAT_MS: 300,
      WORKER_DEAD_AFTER_MS: 1000,
      EGRESS_ALLOW: "127.0.0.1",
      EGRESS_ALLOW_HTTP: "true",
    },
  });
  try {
    const tenant = await db.tenant.create({ data: { name: "Restart" } });
    await db.eventSubscription.create({
      data: {
        tenantId: tenant.id,
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        eventTypes: ["*"],
        secrets: sealer.sealJson({ signingSecrets: [generateSigningSecret()] }),
      },
    });
    const eventId = await emitEvent(pool, { tenantId: tenant.id, type: "message.received", data: { n: 1 } });
    for (let i = 0; i < 300 && hits.length === 0; i++) await sleep(100);
    assert.equal(hits.length, 1, "the worker is mid-delivery");

    await database.stop();
    database = await startEmbeddedPostgres({ dataDir, port });
    held!.end("ok"); // the receiver took it, but the worker cannot record that on the old connection

    for (let i = 0; i < 600; i++) {
      const delivery = await db.eventDelivery.findFirst({ where: { eventId: eventId! } }).catch(() => null);
      if (delivery?.status === "succeeded") break;
      await sleep(100);
    }
    const delivery = await db.eventDelivery.findFirstOrThrow({ where: { eventId: eventId! } });
    assert.equal(delivery.status, "succeeded", "delivered once the database is back");
    assert.ok(
      hits.every((id) => id === eventId),
      "every attempt carries the same event id, for receivers to deduplicate",
    );
  } finally {
    await worker.stop().catch(() => {});
    await db.$disconnect();
    await pool.end();
    receiver.closeAllConnections();
    receiver.close();
    await database.stop();
    await rm(root, { recursive: true, force: true });
  }
});
