import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type { InboundEvent } from "@cb/core";
import { createAccountDirectory, type AccountDirectory } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import Fastify, { type FastifyInstance } from "fastify";
import { driver } from "../src/index.ts";

// From the webhook in, against the real account directory on PostgreSQL: Slack saying a bot is
// gone disables its account, and nothing else does.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const SECRET = "workspace-signing-secret";
const APP_SECRET = "oauth-app-signing-secret";
let t: TestDatabase;
let accounts: AccountDirectory;
let app: FastifyInstance;
let tenantId: string;
const ingested: InboundEvent[] = [];

before(async () => {
  t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("k")));
  accounts = createAccountDirectory({ db: t.db, sealer, drivers: [driver], env: {} });
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  app = Fastify();
  // Wired as apps/server wires every channel.
  await app.register(driver.webhook, {
    prefix: "/webhooks/slack",
    loadAccount: (id) => accounts.load("slack", id),
    ingest: async (_account, events) => void ingested.push(...events),
    findAccount: (match) => accounts.find("slack", match),
    disableAccount: (account) => accounts.disable(account.id),
    appSecrets: { signingSecret: APP_SECRET },
  });
  sealed = (secrets) => sealer.sealJson(secrets);
});
after(async () => {
  await app.close();
  await t.drop();
});

let sealed: (secrets: Record<string, string>) => string;
async function connect(config: Record<string, string>, signingSecret = SECRET) {
  const row = await t.db.channelAccount.create({
    data: {
      tenantId,
      channel: "slack",
      name: "Workspace",
      config,
      secrets: sealed({ botToken: `xoxb-${config.teamId}`, signingSecret }),
    },
  });
  return row.id;
}
const enabled = async (id: string) => (await t.db.channelAccount.findUniqueOrThrow({ where: { id } })).enabled;

const sign = (body: string, secret = SECRET, timestamp = Math.floor(Date.now() / 1000)) => ({
  "content-type": "application/json",
  "x-slack-request-timestamp": String(timestamp),
  "x-slack-signature": `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`,
});
const post = (url: string, body: string, headers: Record<string, string>) =>
  app.inject({ method: "POST", url: `/webhooks/slack${url}`, headers, payload: body });
const mention = (teamId: string) =>
  JSON.stringify({
    type: "event_callback",
    team_id: teamId,
    event_id: `Ev-${teamId}-after`,
    event: { type: "app_mention", user: "U1", text: "<@UBOT> hi", ts: "1700000001.000100", channel: "C1" },
  });

test("tokens_revoked naming the bot disables the account; forged or stale ones change nothing", async () => {
  const id = await connect({ teamId: "T111", botUserId: "UBOT" });
  const revoked = fixture("event_callback_tokens_revoked.json");
  assert.equal((await post(`/${id}`, revoked, sign(revoked, "another-secret"))).statusCode, 401);
  const stale = sign(revoked, SECRET, Math.floor(Date.now() / 1000) - 600);
  assert.equal((await post(`/${id}`, revoked, stale)).statusCode, 401);
  const tampered = revoked.replace('"bot": [', '"bot" : [');
  assert.equal((await post(`/${id}`, tampered, sign(revoked))).statusCode, 401);
  assert.equal(await enabled(id), true);

  // A user's token revoked: the bot's still works, and the account stays.
  const userOnly = JSON.stringify({
    ...JSON.parse(revoked),
    event: { type: "tokens_revoked", tokens: { oauth: ["U123"], bot: [] } },
  });
  assert.equal((await post(`/${id}`, userOnly, sign(userOnly))).statusCode, 200);
  assert.equal(await enabled(id), true);

  const response = await post(`/${id}`, revoked, sign(revoked));
  assert.equal(response.statusCode, 200);
  assert.equal(response.body, "");
  assert.equal(await enabled(id), false);
  assert.equal(ingested.length, 0, "the revocation is no message");
  // The account is gone for webhooks and for sending alike.
  assert.equal((await post(`/${id}`, mention("T111"), sign(mention("T111")))).statusCode, 404);
  await assert.rejects(accounts.sender(id), /missing or disabled/);
});

test("app_uninstalled disables the account at its own URL", async () => {
  const id = await connect({ teamId: "T222", botUserId: "UBOT" });
  const other = await connect({ teamId: "T223", botUserId: "UBOT" });
  const uninstalled = fixture("event_callback_app_uninstalled.json");
  assert.equal((await post(`/${id}`, uninstalled, sign(uninstalled))).statusCode, 200);
  assert.equal(await enabled(id), false);
  assert.equal(await enabled(other), true, "only that workspace's account");
  assert.equal((await post(`/${other}`, mention("T223"), sign(mention("T223")))).statusCode, 200);
  assert.equal(ingested.length, 1);
});

test("the OAuth app's shared URL: the team named in the event loses its account", async () => {
  const id = await connect({ teamId: "T333", botUserId: "UBOT", installedVia: "oauth" }, APP_SECRET);
  const other = await connect({ teamId: "T334", botUserId: "UBOT", installedVia: "oauth" }, APP_SECRET);
  const revoked = JSON.stringify({ ...JSON.parse(fixture("event_callback_tokens_revoked.json")), team_id: "T333" });
  assert.equal((await post("", revoked, sign(revoked))).statusCode, 401, "signed with a workspace's secret");
  assert.equal(await enabled(id), true);
  assert.equal((await post("", revoked, sign(revoked, APP_SECRET))).statusCode, 200);
  assert.equal(await enabled(id), false);
  assert.equal(await enabled(other), true);
  assert.equal((await post("", mention("T333"), sign(mention("T333"), APP_SECRET))).statusCode, 404);
  const uninstalled = JSON.stringify({
    ...JSON.parse(fixture("event_callback_app_uninstalled.json")),
    team_id: "T334",
  });
  assert.equal((await post("", uninstalled, sign(uninstalled, APP_SECRET))).statusCode, 200);
  assert.equal(await enabled(other), false);
});
