import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { generateKey } from "@cb/secrets";

// `npm start` and `npm run chat` as a user runs them, on a test database instead of the embedded
// one and on ports the system picks, so that the test runs beside a developer's own demo.
const main = new URL("../src/main.ts", import.meta.url).pathname;
const chat = new URL("../src/chat.ts", import.meta.url).pathname;
const cli = new URL("../../cli/src/main.ts", import.meta.url).pathname;
const conversationTests = new URL("../conversation-tests.yaml", import.meta.url).pathname;

let t: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;
let demo: ChildProcess;
let printed = "";

before(async () => {
  t = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), "cb-demo-"));
  env = {
    ...process.env,
    DATABASE_URL: t.url,
    SECRETS_KEYS: generateKey("demo"),
    PORT: "0",
    DEMO_BOT_API_PORT: "0",
    DEMO_BACKENDS_PORT: "0",
    DEMO_INFO_FILE: join(dir, "demo.json"),
    LOG_LEVEL: "warn",
  };
  demo = spawn(process.execPath, ["--import", "tsx", main, "--no-chat"], { env, stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: demo.stdout! });
  for await (const line of lines) {
    printed += `${line}\n`;
    if (line.startsWith("[demo] running;")) break;
  }
});

after(async () => {
  if (demo.exitCode === null) demo.kill("SIGKILL");
  await t.drop();
  await rm(dir, { recursive: true, force: true });
});

async function runChat(args: string[], input?: string): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", chat, ...args], {
    env,
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk));
  child.stdin!.end(input ?? "");
  const [code] = await once(child, "exit");
  assert.equal(code, 0, out);
  return out;
}

test("a scripted chat tracks an order through the demo's backend and presses a button", async () => {
  const out = await runChat(["where is my order?", "12345", "1"]);
  assert.match(out, /you> where is my order\?\nbot> .*order number/i);
  assert.match(out, /bot> Order 12345 \(Trail running shoes, €89\.00\) is shipped\./);
  // The number pressed the first button under the answer, which the bot answered in turn.
  assert.match(out, /\[1\] Return an item[\s\S]*you> 1\nbot> Which order would you like to return\?/);
});

test("lines piped in are each said in turn, none dropped while the bot answers", async () => {
  const out = await runChat([], "hi\nwhere is my order 10001\n");
  assert.match(out, /you> hi\nbot> Hello!/);
  assert.match(out, /you> where is my order 10001\nbot> Order 10001/);
});

test("/debug shows under each answer what the turn recorded: intent, confidence, parameters, contexts, fulfillment", async () => {
  const out = await runChat(["/debug", "where is my order 12345", "/debug", "hi"]);
  assert.match(out, /\(debug on/);
  assert.match(
    out,
    /bot> Order 12345[\s\S]*?\n {5}· intent order\.status \((?:0\.\d\d|1\.00)\) · parameters \{"order_id":"12345"\} · contexts [^·]+ · fulfillment ok 200 in \d+ ms · \d+ repl(y|ies) in \d+ ms\n/,
  );
  // Off again: the greeting's answer comes without it.
  assert.match(out, /\(debug off\)\nyou> hi\nbot> Hello![^·]*$/);
});

test("an intent with no responses and no fulfillment: the chat says so, from the turn's record", async () => {
  const tenant = await t.db.tenant.findFirstOrThrow({ where: { name: "Demo Shop" } });
  await t.db.intent.create({
    data: {
      tenantId: tenant.id,
      name: "store.hours",
      examples: ["what are your opening hours", "when do you open", "are you open on sunday", "store hours"],
    },
  });
  // Turns keep the previous model until the worker has trained and stored the new version.
  const { trainingRevision, language } = await t.db.tenant.findUniqueOrThrow({ where: { id: tenant.id } });
  for (
    let i = 0;
    !(await t.db.nluModel.findFirst({
      where: { tenantId: tenant.id, fingerprint: `${trainingRevision}:${language}` },
    }));
    i++
  ) {
    assert.ok(i < 600, "the new intent was never trained");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // A worker looks for a newer stored model at most once a second (DEFAULT_RECHECK_MS).
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const out = await runChat(["/debug", "what are your opening hours"]);
  assert.match(out, /\(no answer: the intent "store\.hours" has no responses and no fulfillment\)/);
  assert.match(
    out,
    /· intent store\.hours \([\d.]+\) · parameters \{\} · contexts none · fulfillment none · 0 replies/,
  );
  assert.doesNotMatch(out, /worker running/);
});

test("the demo's admin operator signs in with the password it printed and kept", async () => {
  const password = (await readFile(join(dir, "demo-operator-password"), "utf8")).trim();
  assert.ok(printed.includes(`demo@example.com / ${password}`), printed);
  const { serverUrl } = JSON.parse(await readFile(env.DEMO_INFO_FILE!, "utf8")) as { serverUrl: string };
  const response = await fetch(`${serverUrl}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "demo@example.com", password }),
  });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { operator: { role: string; tenantId: string } };
  assert.equal(body.operator.role, "admin");
  assert.match(response.headers.get("set-cookie") ?? "", /^cb_session=/);
});

test("the demo's conversation tests pass through `cb test`, which finds the running demo by itself", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", cli, "test", conversationTests], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk));
  const [code] = await once(child, "exit");
  assert.equal(code, 0, out);
  assert.match(out, /✓ order status, the order number asked for\n/);
  assert.match(out, /\n5 conversations: 5 passed, 0 failed\n$/);
});

test("the demo stops cleanly on SIGTERM and takes its chat address with it", async () => {
  assert.ok(existsSync(env.DEMO_INFO_FILE!));
  demo.kill("SIGTERM");
  const [code] = await once(demo, "exit");
  assert.equal(code, 0);
  assert.equal(existsSync(env.DEMO_INFO_FILE!), false);
});
