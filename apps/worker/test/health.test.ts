import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory } from "@cb/conversation";
import { createPool, type Pool } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { startWorkerHealth, startWorkerRole } from "../src/index.ts";

/** A loopback TCP proxy to the database that can refuse: the database "unreachable" for one pool only. */
async function startDatabaseProxy(databaseUrl: string) {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    refuse(on: boolean) {
      refusing = on;
      if (on) for (const socket of sockets) socket.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let t: TestDatabase;
let worker: Awaited<ReturnType<typeof startWorkerRole>>;
let proxy: Awaited<ReturnType<typeof startDatabaseProxy>>;
let pool: Pool;
let health: Awaited<ReturnType<typeof startWorkerHealth>>;
let workerStopped = false;

before(async () => {
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  worker = await startWorkerRole({
    databaseUrl: t.url,
    db: t.db,
    pool: t.pool,
    sealer,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [telegramDriver], env: {} }),
    config: { WORKER_CONCURRENCY: 1 },
  });
  proxy = await startDatabaseProxy(t.url);
  pool = createPool(proxy.url, { max: 2 });
  health = await startWorkerHealth({ runner: worker.runner, pool, host: "127.0.0.1", port: 0 });
});
after(async () => {
  await health.close();
  if (!workerStopped) await worker.stop();
  await pool.end();
  await proxy.close();
  await t.drop();
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${health.url}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test("a running worker is alive and ready", async () => {
  assert.match(health.url, /^http:\/\/127\.0\.0\.1:\d+$/, "a free port, chosen with port 0");
  assert.deepEqual(await get("/healthz"), { status: 200, body: { status: "ok" } });
  assert.deepEqual(await get("/readyz"), { status: 200, body: { status: "ready" } });
});

test("the database out of reach: not ready (still alive), and ready again once it answers", async () => {
  proxy.refuse(true);
  try {
    assert.deepEqual(await get("/readyz"), {
      status: 503,
      body: { status: "unavailable", reason: "database unreachable" },
    });
    assert.equal((await get("/healthz")).status, 200);
  } finally {
    proxy.refuse(false);
  }
  assert.equal((await get("/readyz")).status, 200);
});

test("a database whose schema is behind this build: not ready, naming the pending migration", async () => {
  const [last] = await t.db.$queryRawUnsafe<{ migration_name: string }[]>(
    "DELETE FROM _prisma_migrations WHERE migration_name = (SELECT max(migration_name) FROM _prisma_migrations) RETURNING migration_name",
  );
  assert.deepEqual(await get("/readyz"), {
    status: 503,
    body: { status: "unavailable", reason: "migrations pending", pending: [last!.migration_name] },
  });
});

// Last: the runner does not come back.
test("a stopped job runner (the role shutting down): not ready, though the process still answers", async () => {
  workerStopped = true;
  await worker.stop();
  assert.deepEqual(await get("/readyz"), {
    status: 503,
    body: { status: "unavailable", reason: "job runner stopped" },
  });
  assert.equal((await get("/healthz")).status, 200);
});
