import { test } from "node:test";
import assert from "node:assert/strict";
import { channelEnvironment, ConfigError, loadConfig, REQUIRED_SETTINGS } from "../src/index.ts";

const DATABASE_URL = "postgresql://chatbot:database-password@db.internal:5432/chatbot";
const SECRETS_KEYS = "k1:c2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcy1sb25n";
const ADMIN_TOKEN = "operator-token-0123456789";
const web = { DATABASE_URL, SECRETS_KEYS, PUBLIC_BASE_URL: "https://bot.example.com", ADMIN_TOKEN };

function failure(env: Record<string, string>, role?: "web" | "worker"): string {
  try {
    loadConfig(env, role);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    return err.message;
  }
  assert.fail("the configuration was accepted");
}

test("the web role on an external database names every missing setting in one message", () => {
  const message = failure({ DATABASE_URL }, "web");
  assert.match(message, /missing required settings for the web role: SECRETS_KEYS, PUBLIC_BASE_URL, ADMIN_TOKEN/);
  assert.doesNotMatch(message, /DATABASE_URL/, "DATABASE_URL is set");
  assert.doesNotMatch(message, /database-password/, "never a value");
});

test("in production the database is required too: no embedded PostgreSQL in a deployment", () => {
  assert.match(
    failure({ NODE_ENV: "production" }, "web"),
    /: DATABASE_URL, SECRETS_KEYS, PUBLIC_BASE_URL, ADMIN_TOKEN/,
  );
  assert.match(failure({ NODE_ENV: "production" }, "worker"), /for the worker role: DATABASE_URL, SECRETS_KEYS \(/);
});

test("a worker needs the database and the keys, not the web role's address or operator token", () => {
  assert.match(failure({ DATABASE_URL }, "worker"), /missing required settings for the worker role: SECRETS_KEYS \(/);
  const config = loadConfig({ DATABASE_URL, SECRETS_KEYS }, "worker");
  assert.equal(config.SECRETS_KEYS, SECRETS_KEYS);
  assert.deepEqual(REQUIRED_SETTINGS.worker, ["DATABASE_URL", "SECRETS_KEYS"]);
});

test("with every setting a role starts: the values come through", () => {
  const config = loadConfig({ ...web, NODE_ENV: "production" }, "web");
  assert.equal(config.PUBLIC_BASE_URL, "https://bot.example.com");
  assert.equal(config.ADMIN_TOKEN, ADMIN_TOKEN);
  assert.equal(config.DATABASE_URL, DATABASE_URL);
});

test("a developer's machine (embedded database) and the in-process demo need none of them", () => {
  assert.equal(loadConfig({}, "web").DATABASE_URL, undefined);
  assert.equal(loadConfig({}, "worker").SECRETS_KEYS, undefined);
  assert.equal(loadConfig({ DATABASE_URL }).ADMIN_TOKEN, undefined, "no role: no requirement");
});

test("an empty variable counts as unset (an .env line without a value)", () => {
  assert.match(failure({ ...web, ADMIN_TOKEN: "", SECRETS_KEYS: "" }, "web"), /role: SECRETS_KEYS, ADMIN_TOKEN \(/);
  const config = loadConfig({ PORT: "", LOG_LEVEL: "" });
  assert.equal(config.PORT, 3000, "the default, not Number('') = 0");
  assert.equal(config.LOG_LEVEL, "info");
});

test("invalid and missing settings are reported together, naming the setting but never its value", () => {
  const message = failure({ DATABASE_URL, ADMIN_TOKEN: "short-secret", PUBLIC_BASE_URL: "not a url" }, "web");
  assert.match(message, /missing required settings for the web role: SECRETS_KEYS; /, "set ones are not missing");
  assert.match(message, /PUBLIC_BASE_URL: Invalid URL/);
  assert.match(message, /ADMIN_TOKEN: Too small/);
  assert.doesNotMatch(message, /short-secret/);
  assert.doesNotMatch(message, /not a url/);
});

test("WORKER_HEALTH_PORT: unset means no health server, 0 a free port, a negative one is refused", () => {
  assert.equal(loadConfig({}).WORKER_HEALTH_PORT, undefined);
  assert.equal(loadConfig({ WORKER_HEALTH_PORT: "0" }).WORKER_HEALTH_PORT, 0);
  assert.equal(loadConfig({ WORKER_HEALTH_PORT: "3001" }).WORKER_HEALTH_PORT, 3001);
  assert.match(failure({ WORKER_HEALTH_PORT: "-1" }), /WORKER_HEALTH_PORT: /);
});

test("a worker's NLU settings: the model cache in megabytes and the trainings at once, positive", () => {
  const defaults = loadConfig({ DATABASE_URL, SECRETS_KEYS }, "worker");
  assert.equal(defaults.NLU_MODEL_CACHE_MB, 256);
  assert.equal(defaults.NLU_TRAINING_CONCURRENCY, 1);
  const set = loadConfig(
    { DATABASE_URL, SECRETS_KEYS, NLU_MODEL_CACHE_MB: "64", NLU_TRAINING_CONCURRENCY: "2" },
    "worker",
  );
  assert.deepEqual([set.NLU_MODEL_CACHE_MB, set.NLU_TRAINING_CONCURRENCY], [64, 2]);
  assert.match(failure({ NLU_MODEL_CACHE_MB: "0" }), /NLU_MODEL_CACHE_MB/);
  assert.match(failure({ NLU_TRAINING_CONCURRENCY: "1.5" }), /NLU_TRAINING_CONCURRENCY/);
});

test("the sentence encoder is on unless set off; nothing else is accepted", () => {
  assert.equal(loadConfig({ DATABASE_URL, SECRETS_KEYS }, "worker").NLU_SENTENCE_ENCODER, "on");
  assert.equal(loadConfig({ DATABASE_URL, SECRETS_KEYS, NLU_SENTENCE_ENCODER: "off" }).NLU_SENTENCE_ENCODER, "off");
  assert.match(failure({ NLU_SENTENCE_ENCODER: "yes" }), /NLU_SENTENCE_ENCODER/);
});

test("the channels' settings are their drivers': validated with the rest, and only the ones not secret reach the drivers' env", () => {
  const message = failure({ TELEGRAM_API_ROOT: "not a url", SLACK_STATE_SECRET: "short" });
  assert.match(message, /TELEGRAM_API_ROOT \(the Telegram Bot API\): /);
  assert.match(message, /SLACK_STATE_SECRET \(signs install links and OAuth state\): /);
  assert.doesNotMatch(message, /short/, "never a value");

  const config = loadConfig({
    TELEGRAM_API_ROOT: "http://127.0.0.1:9001",
    GRAPH_API_VERSION: "v22.0",
    SLACK_CLIENT_SECRET: "client-secret",
    SLACK_STATE_SECRET: "a-state-secret-of-16+",
    NOT_A_SETTING: "x",
  });
  assert.equal(config.channelSettings.SLACK_STATE_SECRET, "a-state-secret-of-16+");
  assert.equal(config.channelSettings.NOT_A_SETTING, undefined);
  const env = channelEnvironment(config);
  assert.equal(env.TELEGRAM_API_ROOT, "http://127.0.0.1:9001");
  assert.equal(env.GRAPH_API_VERSION, "v22.0");
  assert.ok("SLACK_API_URL" in env);
  for (const secret of ["SLACK_CLIENT_SECRET", "SLACK_STATE_SECRET", "SLACK_SIGNING_SECRET"])
    assert.ok(!(secret in env), secret);
});

test("the database pool: 8 connections for a worker on its own, 20 for the web role and both roles together; settable", () => {
  assert.equal(loadConfig({ DATABASE_URL, SECRETS_KEYS }, "worker").DATABASE_POOL_SIZE, 8);
  assert.equal(loadConfig(web, "web").DATABASE_POOL_SIZE, 20);
  assert.equal(loadConfig({}).DATABASE_POOL_SIZE, 20);
  assert.equal(loadConfig({ DATABASE_URL, SECRETS_KEYS, DATABASE_POOL_SIZE: "12" }, "worker").DATABASE_POOL_SIZE, 12);
  assert.match(failure({ DATABASE_POOL_SIZE: "0" }), /DATABASE_POOL_SIZE/);
});
