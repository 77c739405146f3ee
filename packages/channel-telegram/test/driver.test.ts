import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { HttpError, type ChannelAccount } from "@cb/core";
import { startFakeTelegram, type FakeTelegram } from "@cb/fake-telegram";
import { driver } from "../src/index.ts";

let telegram: FakeTelegram;
const TOKEN = "123456:driver-test-token";
const env = () => ({ TELEGRAM_API_ROOT: telegram.url });

before(async () => {
  telegram = await startFakeTelegram();
  telegram.addBot(TOKEN, { username: "AcmeBot" });
});
after(() => telegram.close());

const isHttp = (status: number, code: string, message?: RegExp) => (err: unknown) =>
  err instanceof HttpError && err.statusCode === status && err.code === code && (!message || message.test(err.message));

const account = (secrets: Record<string, string>): ChannelAccount => ({
  id: "00000000-0000-4000-8000-000000000001",
  tenantId: "00000000-0000-4000-8000-000000000002",
  channel: "telegram",
  config: {},
  secrets,
});

test("connecting checks the token, learns the bot, registers the webhook with a generated secret token", async () => {
  const prepared = await driver.connection.prepare!({ credentials: { botToken: TOKEN }, config: {}, env: env() });
  assert.equal(prepared.config?.username, "AcmeBot");
  assert.match(prepared.secrets?.secretToken ?? "", /^[A-Za-z0-9_-]{32}$/);
  const connected = account({ botToken: TOKEN, ...prepared.secrets });
  const setup = await driver.connection.register(connected, "https://bot.example.com/webhooks/telegram/x", env());
  assert.equal((setup.webhook as { url: string }).url, "https://bot.example.com/webhooks/telegram/x");
  assert.match(setup.instructions, /Nothing to configure in Telegram/);
  assert.equal(
    ((await driver.connection.webhookInfo!(connected, env())) as { url: string }).url,
    "https://bot.example.com/webhooks/telegram/x",
  );
  await driver.connection.disconnect!(connected, env());
  assert.equal(((await driver.connection.webhookInfo!(connected, env())) as { url: string }).url, "");
});

test("Telegram's refusals become answers for our caller, never with the token", async () => {
  const unknown = await driver.connection.prepare!({
    credentials: { botToken: "999:unknown" },
    config: {},
    env: env(),
  }).catch((err: unknown) => err);
  assert.ok(isHttp(400, "invalid_bot_token", /^Telegram does not accept this bot token$/)(unknown));

  const connected = account({ botToken: TOKEN, secretToken: "s" });
  const platform = await driver.connection.register(connected, "http://insecure.example/hook", env()).catch((e) => e);
  assert.ok(
    isHttp(502, "platform_error", /^Telegram refused to register the webhook: Bad Request: bad webhook/)(platform),
  );

  telegram.failNext("getMe", { status: 404, description: "Not Found" });
  const notFound = await driver.connection.prepare!({ credentials: { botToken: TOKEN }, config: {}, env: env() }).catch(
    (err: unknown) => err,
  );
  assert.ok(isHttp(400, "invalid_bot_token")(notFound));

  const unreachable = await driver.connection.webhookInfo!(connected, {
    TELEGRAM_API_ROOT: "http://127.0.0.1:9",
  }).catch((err: unknown) => err);
  assert.ok(isHttp(502, "platform_unreachable", /^could not reach Telegram to report the webhook$/)(unreachable));
  for (const err of [unknown, platform, notFound, unreachable]) assert.ok(!(err as Error).message.includes(TOKEN));
});
