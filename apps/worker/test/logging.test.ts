import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { BOT_TOKEN, sleep, startStack, textUpdate, type Stack } from "./support.ts";

// The worker as it runs in production: its own process, logging to stdout at LOG_LEVEL.
let stack: Stack;
before(async () => {
  stack = await startStack({ worker: false });
});
after(() => stack.close());

async function runWorker(level: string, chatId: number): Promise<Record<string, unknown>[]> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL("../src/main.ts", import.meta.url).pathname], {
    env: {
      ...process.env,
      LOG_LEVEL: level,
      WORKER_HEALTH_PORT: "0",
      DATABASE_URL: stack.t.url,
      SECRETS_KEYS: stack.keys,
      TELEGRAM_API_ROOT: stack.telegram.url,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit");
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => lines.push(line));
  const processed = () => stack.t.db.message.count({ where: { direction: "in", status: "processed" } });
  const before = await processed();
  assert.equal(await stack.post(textUpdate(`hello at ${level}`, chatId)), 200);
  for (let i = 0; i < 1200 && (await processed()) === before; i++) await sleep(100);
  assert.equal(await processed(), before + 1, "the worker took the turn");
  child.kill("SIGTERM");
  const [code] = await exited;
  assert.equal(code, 0);
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("the worker process writes JSON lines at LOG_LEVEL: each turn's record at debug only, credentials never", async () => {
  const debug = await runWorker("debug", 801);
  const turns = debug.filter((l) => l.msg === "turn");
  assert.equal(turns.length, 1, "the turn's record, at debug");
  assert.equal(turns[0]!.level, 20);
  assert.ok(debug.some((l) => l.msg === "shutting down: finishing running jobs" && l.level === 30));

  const info = await runWorker("info", 802);
  assert.deepEqual(
    info.filter((l) => l.msg === "turn"),
    [],
    "no debug lines at info",
  );
  assert.ok(info.some((l) => l.msg === "shutting down: finishing running jobs" && l.level === 30));
  assert.ok(info.every((l) => (l.level as number) >= 30));
  for (const line of [...debug, ...info]) assert.ok(!JSON.stringify(line).includes(BOT_TOKEN));
});
