import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { redactQuery } from "../src/index.ts";

/** What a package's default logger writes in a process whose environment has `LOG_LEVEL`. */
async function defaultLoggerLines(level: string | undefined): Promise<{ level: number; msg: string }[]> {
  const script = `import { defaultLogger } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).href)};
    const log = defaultLogger();
    log.debug("debug line"); log.info({ botToken: "123:abc" }, "info line");`;
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: level };
  if (level === undefined) delete env.LOG_LEVEL;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    {
      env,
    },
  );
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}
import { captureLogs, LEVEL } from "../src/testing.ts";

test("LOG_LEVEL decides what is written: debug lines only at debug", () => {
  for (const [level, expected] of [
    ["debug", ["debug line", "info line", "warn line"]],
    ["info", ["info line", "warn line"]],
    ["warn", ["warn line"]],
    ["silent", []],
  ] as const) {
    const { logger, lines } = captureLogs(level);
    logger.debug("debug line");
    logger.info("info line");
    logger.warn("warn line");
    assert.deepEqual(
      lines.map((l) => l.msg),
      expected,
      `at ${level}`,
    );
  }
});

test("each line is one JSON object with its level, time and message", () => {
  const { logger, lines, text } = captureLogs();
  logger.error({ tenantId: "t1" }, "something failed");
  assert.equal(text().split("\n").filter(Boolean).length, 1);
  assert.equal(lines[0]!.level, LEVEL.error);
  assert.equal(lines[0]!.msg, "something failed");
  assert.equal(lines[0]!.tenantId, "t1");
  assert.equal(typeof lines[0]!.time, "number");
});

test("credentials are redacted at the top level and one level down, in headers and in children", () => {
  const { logger, text } = captureLogs();
  const secrets = {
    botToken: "123:bot-token-value",
    apiKey: "cbk_api-key-value",
    signingSecret: "whsec_signing-secret-value",
    accessToken: "EAAG-access-token-value",
    authorization: "Bearer header-value",
    password: "basic-password-value",
  };
  logger.warn({ botToken: secrets.botToken, account: { apiKey: secrets.apiKey } }, "top and nested");
  logger.warn({ endpoint: { signingSecret: secrets.signingSecret } }, "nested secret");
  logger.child({ account: { accessToken: secrets.accessToken } }).info("bound in a child");
  logger.info({ headers: { authorization: secrets.authorization } }, "headers");
  logger.info({ request: { headers: { authorization: secrets.authorization } } }, "nested headers");
  logger.info({ auth: { password: secrets.password } }, "basic auth");
  const out = text();
  for (const [name, value] of Object.entries(secrets)) assert.ok(!out.includes(value), `${name} is redacted`);
  assert.equal(out.match(/\[Redacted\]/g)?.length, 7);
});

test("a logged request keeps its query's parameter names and hides their values", () => {
  const { logger, lines } = captureLogs();
  logger.info({ req: { method: "GET", url: "/webhooks/whatsapp/a?hub.verify_token=s3cret&hub.challenge=1" } }, "in");
  assert.deepEqual(lines[0]!.req, {
    method: "GET",
    url: "/webhooks/whatsapp/a?hub.verify_token=[Redacted]&hub.challenge=[Redacted]",
  });
});

test("redactQuery hides every value and leaves paths without a query alone", () => {
  assert.equal(redactQuery("/a/b"), "/a/b");
  assert.equal(redactQuery("/a?key=cbk_1&flag&x=1=2"), "/a?key=[Redacted]&flag=[Redacted]&x=[Redacted]");
});

test("a package given no logger logs at the environment's LOG_LEVEL (info when unset or invalid), redacted", async () => {
  const [debug, unset, invalid] = await Promise.all([
    defaultLoggerLines("debug"),
    defaultLoggerLines(undefined),
    defaultLoggerLines("loud"),
  ]);
  assert.deepEqual(
    debug.map((l) => l.msg),
    ["debug line", "info line"],
  );
  assert.deepEqual(
    unset.map((l) => l.msg),
    ["info line"],
  );
  assert.deepEqual(
    invalid.map((l) => l.msg),
    ["info line"],
  );
  assert.deepEqual((debug[1] as Record<string, unknown>).botToken, "[Redacted]");
});
