import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { postgresSendLimits, type ChannelDriver } from "@cb/core";
import { createAccountDirectory } from "../src/index.ts";
import { BOT_TOKEN, setUp, type Setup } from "./support.ts";

let s: Setup;
let slackId: string;

before(async () => {
  s = await setUp();
  slackId = (
    await s.t.db.channelAccount.create({
      data: {
        tenantId: s.tenantId,
        channel: "slack",
        name: "Workspace",
        config: { teamId: "T111", botUserId: "UBOT" },
        secrets: s.sealer.sealJson({ botToken: "xoxb-1", signingSecret: "signing" }),
      },
    })
  ).id;
});
after(() => s.close());

const directory = (ttlMs?: number, drivers: ChannelDriver[] = [telegramDriver]) =>
  createAccountDirectory({
    db: s.t.db,
    sealer: s.sealer,
    drivers,
    env: { TELEGRAM_API_ROOT: s.telegram.url },
    limits: postgresSendLimits(s.t.pool),
    ...(ttlMs !== undefined ? { ttlMs } : {}),
  });
const setConfig = (id: string, config: object) => s.t.db.channelAccount.update({ where: { id }, data: { config } });

test("an account is loaded with its secrets opened, only on its own channel", async () => {
  const accounts = directory();
  assert.deepEqual(await accounts.load("telegram", s.account.id), {
    id: s.account.id,
    tenantId: s.tenantId,
    channel: "telegram",
    config: { username: "ShopBot" },
    secrets: { botToken: BOT_TOKEN, secretToken: "s" },
  });
  assert.equal(await accounts.load("whatsapp", s.account.id), null, "another channel's URL names no account");
  assert.equal(await accounts.load("telegram", "00000000-0000-4000-8000-000000000000"), null);
  assert.equal(await accounts.load("telegram", "not-a-uuid"), null, "not an id: no query (it would fail)");
  assert.equal(await accounts.load("telegram", `${s.account.id}x`), null);
});

test("accounts are cached until invalidated or their time is up; unknown ones too", async () => {
  const accounts = directory();
  await accounts.load("telegram", s.account.id);
  await setConfig(s.account.id, { username: "RenamedBot" });
  try {
    assert.deepEqual((await accounts.load("telegram", s.account.id))?.config, { username: "ShopBot" }, "cached");
    accounts.invalidate(s.account.id);
    assert.deepEqual((await accounts.load("telegram", s.account.id))?.config, { username: "RenamedBot" });
    await setConfig(s.account.id, { username: "AgainBot" });
    accounts.invalidate();
    assert.deepEqual((await accounts.load("telegram", s.account.id))?.config, { username: "AgainBot" });

    const brief = directory(50);
    await brief.load("telegram", s.account.id);
    await setConfig(s.account.id, { username: "ShopBot" });
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual((await brief.load("telegram", s.account.id))?.config, { username: "ShopBot" }, "expired");
  } finally {
    await setConfig(s.account.id, { username: "ShopBot" });
  }

  const id = "11111111-1111-4111-8111-111111111111";
  assert.equal(await accounts.load("telegram", id), null);
  await s.t.db.channelAccount.create({
    data: { id, tenantId: s.tenantId, channel: "telegram", name: "late", secrets: s.sealer.sealJson({}) },
  });
  assert.equal(await accounts.load("telegram", id), null, "a miss is cached like a hit");
  accounts.invalidate(id);
  assert.equal((await accounts.load("telegram", id))?.id, id);
  await s.t.db.channelAccount.delete({ where: { id } });
});

test("a disabled account is not loaded", async () => {
  const id = (
    await s.t.db.channelAccount.create({
      data: { tenantId: s.tenantId, channel: "telegram", name: "off", enabled: false, secrets: s.sealer.sealJson({}) },
    })
  ).id;
  const accounts = directory();
  assert.equal(await accounts.load("telegram", id), null);
  await assert.rejects(accounts.sender(id), /is missing or disabled/);
});

test("a sender is made once per account and sends through its platform", async () => {
  const accounts = directory();
  const sender = await accounts.sender(s.account.id);
  assert.equal(await accounts.sender(s.account.id), sender, "shared, with its rate limits");
  const [sent] = await sender.send({ externalId: "401", type: "private" }, { type: "text", text: "hi" });
  const call = await s.telegram.waitFor((c) => c.method === "sendMessage" && String(c.params.chat_id) === "401");
  assert.equal(call.token, BOT_TOKEN);
  assert.equal(sent!.platformMessageId, String((call.result as { message_id: number }).message_id));
  accounts.invalidate(s.account.id);
  assert.notEqual(await accounts.sender(s.account.id), sender, "made again after the account changed");
  const again = await accounts.sender(s.account.id);
  accounts.invalidate();
  assert.notEqual(await accounts.sender(s.account.id), again);
  await assert.rejects(accounts.sender(slackId), /no driver for channel slack/);
  await assert.rejects(accounts.sender("00000000-0000-4000-8000-000000000000"), /is missing or disabled/);
});

test("an account is found by values of its config (a Slack team id), when enabled", async () => {
  const accounts = directory();
  const found = await accounts.find("slack", { teamId: "T111" });
  assert.equal(found?.id, slackId);
  assert.deepEqual(found?.secrets, { botToken: "xoxb-1", signingSecret: "signing" });
  assert.equal((await accounts.find("slack", { teamId: "T111", botUserId: "UBOT" }))?.id, slackId);
  assert.equal(await accounts.find("slack", { teamId: "T111", botUserId: "UOTHER" }), null, "every value must match");
  assert.equal(await accounts.find("slack", { teamId: "T222" }), null);
  assert.equal(await accounts.find("telegram", { teamId: "T111" }), null, "on that channel only");
});

test("disabling an account stores it and forgets it at once", async () => {
  const id = (
    await s.t.db.channelAccount.create({
      data: {
        tenantId: s.tenantId,
        channel: "telegram",
        name: "to disable",
        config: { teamId: "T333" },
        secrets: s.sealer.sealJson({ botToken: BOT_TOKEN, secretToken: "s" }),
      },
    })
  ).id;
  const accounts = directory();
  assert.ok(await accounts.load("telegram", id));
  assert.ok(await accounts.sender(id));
  assert.equal((await accounts.find("telegram", { teamId: "T333" }))?.id, id);
  await accounts.disable(id);
  assert.equal((await s.t.db.channelAccount.findUniqueOrThrow({ where: { id } })).enabled, false);
  assert.equal(await accounts.load("telegram", id), null);
  await assert.rejects(accounts.sender(id), /is missing or disabled/);
  assert.equal(await accounts.find("telegram", { teamId: "T333" }), null);
});
