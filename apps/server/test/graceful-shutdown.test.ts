import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";

const secretToken = "shutdown-secret_token";
let t: TestDatabase;
let keys: string;
let accountId: string;

before(async () => {
  t = await createTestDatabase();
  keys = generateKey("test");
  const sealer = createSealer(parseKeyRing(keys));
  const tenant = await t.db.tenant.create({ data: { name: "Acme" } });
  accountId = (
    await t.db.channelAccount.create({
      data: {
        tenantId: tenant.id,
        channel: "telegram",
        name: "Acme bot",
        secrets: sealer.sealJson({ botToken: "1:x", secretToken }),
      },
    })
  ).id;
});
after(() => t.drop());

/** The web role in a process of its own (`apps/server/src/main.ts`), on a port of its choosing; resolves with its URL. */
async function spawnServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL("../src/main.ts", import.meta.url).pathname], {
    env: {
      ...process.env,
      DATABASE_URL: t.url,
      SECRETS_KEYS: keys,
      PUBLIC_BASE_URL: "https://bot.example.com",
      ADMIN_TOKEN: "operator-token-for-tests",
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the server exited with ${code} before listening`)));
    lines.on("line", (line) => {
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (listening) resolve(listening[1]!);
    });
  });
  return { child, url };
}

const update = (id: number) => ({
  update_id: id,
  message: {
    message_id: id,
    date: Math.floor(Date.now() / 1000),
    chat: { id: 4242, type: "private", first_name: "Ada" },
    from: { id: 4242, is_bot: false, first_name: "Ada" },
    text: "where is my order?",
  },
});

test("SIGTERM while a webhook is in flight: it is stored with its job and acknowledged, new connections are refused, and the process exits 0", async () => {
  const { child, url } = await spawnServer();
  const exited = once(child, "exit");
  // Hold the webhook inside the server: its account lookup waits on this lock.
  const blocker = await t.pool.connect();
  let response: Promise<Response> | undefined;
  try {
    await blocker.query(`BEGIN; LOCK TABLE "ChannelAccount" IN ACCESS EXCLUSIVE MODE`);
    response = fetch(`${url}/webhooks/telegram/${accountId}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secretToken },
      body: JSON.stringify(update(9001)),
    });
    for (let i = 0; ; i++) {
      const { rows } = await t.pool.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (rows[0].n > 0) break;
      assert.ok(i < 200, "the webhook reached the database");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(child.exitCode, null, "still running: the request in flight is being finished");
    await assert.rejects(
      fetch(`${url}/healthz`),
      (err: Error & { cause?: { code?: string } }) => err.cause?.code === "ECONNREFUSED",
      "no new connections once shutting down",
    );
  } finally {
    await blocker.query("COMMIT");
    blocker.release();
  }

  const answered = await response;
  assert.equal(answered.status, 200, "acknowledged");
  const answeredAt = performance.now();
  const [code] = await exited;
  assert.equal(code, 0);
  // Not held up by the client's keep-alive connection (72 s): well within an orchestrator's grace period.
  assert.ok(performance.now() - answeredAt < 5000, `exited ${Math.round(performance.now() - answeredAt)} ms after`);

  const stored = await t.db.message.findMany({ where: { channelAccountId: accountId, direction: "in" } });
  assert.deepEqual(
    stored.map((m) => m.dedupeKey),
    ["9001"],
  );
  const jobs = await t.db.$queryRawUnsafe<{ message_id: string }[]>(
    `SELECT j.payload->>'messageId' AS message_id FROM graphile_worker._private_jobs j
     JOIN graphile_worker._private_tasks k ON k.id = j.task_id WHERE k.identifier = 'handle-message'`,
  );
  assert.deepEqual(
    jobs.map((j) => j.message_id),
    [stored[0]!.id],
    "stored with its job",
  );
});

test("SIGTERM with an operator's live stream open: the stream ends and the process exits 0 at once", async () => {
  const { child, url } = await spawnServer();
  const exited = once(child, "exit");
  const created = await fetch(`${url}/v1/tenants`, {
    method: "POST",
    headers: { authorization: "Bearer operator-token-for-tests", "content-type": "application/json" },
    body: JSON.stringify({ name: "Streams" }),
  });
  const { apiKey } = (await created.json()) as { apiKey: { key: string } };
  const stream = await fetch(`${url}/v1/stream`, { headers: { authorization: `Bearer ${apiKey.key}` } });
  assert.equal(stream.status, 200);
  const reader = stream.body!.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /^: connected/);

  child.kill("SIGTERM");
  const ended = (async () => {
    for (;;) if ((await reader.read()).done) break;
    return (await exited)[0];
  })();
  // Well within an orchestrator's grace period; without ending its streams the server would wait for them.
  const late = new Promise((_, reject) =>
    setTimeout(() => reject(new Error("still running 5 s after SIGTERM")), 5000).unref(),
  );
  assert.equal(await Promise.race([ended, late]), 0);
});
