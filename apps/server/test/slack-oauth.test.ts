import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { newKey } from "@cb/admin-api";
import { driver as slackDriver } from "@cb/channel-slack";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { startFakeSlack, type FakeSlack } from "@cb/fake-slack";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

const APP_SIGNING_SECRET = "app-signing-secret";
const STATE_SECRET = "state-secret-for-install-links";
let settings: Record<string, string>;
let t: TestDatabase;
let slack: FakeSlack;
let app: FastifyInstance;
let ingestor: Ingestor;
let key: string;
let tenantId: string;

before(async () => {
  t = await createTestDatabase();
  slack = await startFakeSlack();
  slack.addOAuthApp("client-1", "client-secret-1");
  const sealer = createSealer(parseKeyRing(generateKey("k")));
  const accounts = createAccountDirectory({
    db: t.db,
    sealer,
    drivers: [slackDriver],
    env: { SLACK_API_URL: slack.url },
  });
  ingestor = createIngestor({ connectionString: t.url });
  settings = {
    SLACK_CLIENT_ID: "client-1",
    SLACK_CLIENT_SECRET: "client-secret-1",
    SLACK_SIGNING_SECRET: APP_SIGNING_SECRET,
    SLACK_STATE_SECRET: STATE_SECRET,
    SLACK_API_URL: slack.url,
    SLACK_AUTHORIZE_URL: "https://slack.example/oauth/v2/authorize",
  };
  app = await buildServer({
    db: t.db,
    accounts,
    ingestor,
    drivers: [slackDriver],
    admin: {
      db: t.db,
      sealer,
      publicBaseUrl: "https://bot.example.com",
      channelEnv: {},
      channelSettings: settings,
    },
    settings,
    install: { sealer, baseUrl: "https://bot.example.com/" },
  });
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  const k = newKey();
  await t.db.apiKey.create({
    data: { id: k.id, tenantId, name: "admin", scopes: ["admin"], secretHash: k.hash, hint: "x" },
  });
  key = k.key;
});
after(async () => {
  await app.close();
  await ingestor.close();
  await slack.close();
  await t.drop();
});

const signed = (body: string, contentType = "application/json") => {
  const ts = Math.floor(Date.now() / 1000);
  return {
    "content-type": contentType,
    "x-slack-request-timestamp": String(ts),
    "x-slack-signature": `v0=${createHmac("sha256", APP_SIGNING_SECRET).update(`v0:${ts}:${body}`).digest("hex")}`,
  };
};

test("OAuth v2 install: a signed link, Slack's authorize page with state, the callback stores the workspace as the tenant's account", async () => {
  const link = await app.inject({
    method: "POST",
    url: "/v1/channels/slack/install-link",
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(link.statusCode, 201);
  const installPath = new URL(link.json().url);
  assert.equal(installPath.origin + installPath.pathname, "https://bot.example.com/slack/install");

  assert.equal((await app.inject(`/slack/install?ticket=forged.ticket`)).statusCode, 403);
  const start = await app.inject(`${installPath.pathname}${installPath.search}`);
  assert.equal(start.statusCode, 302);
  const authorize = new URL(start.headers.location as string);
  assert.equal(authorize.origin + authorize.pathname, "https://slack.example/oauth/v2/authorize");
  assert.equal(authorize.searchParams.get("client_id"), "client-1");
  assert.equal(authorize.searchParams.get("redirect_uri"), "https://bot.example.com/slack/oauth_redirect");
  const state = authorize.searchParams.get("state")!;
  const cookie = String(start.headers["set-cookie"]).split(";")[0]!;

  const noCookie = await app.inject(`/slack/oauth_redirect?code=code-T777&state=${encodeURIComponent(state)}`);
  assert.equal(noCookie.statusCode, 400, "the state must come back to the browser that started");
  assert.equal(await t.db.channelAccount.count(), 0);

  const done = await app.inject({
    url: `/slack/oauth_redirect?code=code-T777&state=${encodeURIComponent(state)}`,
    headers: { cookie },
  });
  assert.equal(done.statusCode, 200, done.body);
  const account = await t.db.channelAccount.findFirstOrThrow();
  assert.equal(account.tenantId, tenantId);
  assert.deepEqual(account.config, { teamId: "T777", botUserId: "UT777BOT", appId: "A0FAKE", installedVia: "oauth" });
  assert.ok(!account.secrets.includes("xoxb"), "the token is sealed");
});

test("install links: only for a channel with an install flow, in a deployment that configures its app", async () => {
  const ask = (channel: string, on = app) =>
    on.inject({
      method: "POST",
      url: `/v1/channels/${channel}/install-link`,
      headers: { authorization: `Bearer ${key}` },
    });
  const telegram = await ask("telegram");
  assert.equal(telegram.statusCode, 404);
  assert.equal(telegram.json().error.code, "not_found");
  assert.match(telegram.json().error.message, /Telegram has no install flow/);
  assert.equal((await ask("nochannel")).statusCode, 400);

  // Without the app's settings: no link, and no install routes either.
  const { SLACK_STATE_SECRET: _, ...partial } = settings;
  const bare = await buildServer({
    db: t.db,
    accounts: createAccountDirectory({
      db: t.db,
      sealer: createSealer(parseKeyRing(generateKey("k"))),
      drivers: [slackDriver],
      env: {},
    }),
    ingestor,
    drivers: [slackDriver],
    admin: { db: t.db, sealer: createSealer(parseKeyRing(generateKey("k"))), channelEnv: {}, channelSettings: partial },
    settings: partial,
    install: { sealer: createSealer(parseKeyRing(generateKey("k"))), baseUrl: "https://bot.example.com" },
  });
  try {
    const unconfigured = await ask("slack", bare);
    assert.equal(unconfigured.statusCode, 409);
    assert.equal(unconfigured.json().error.code, "not_configured");
    assert.deepEqual(unconfigured.json().error.details, { missing: ["SLACK_STATE_SECRET"] });
    assert.ok(!unconfigured.body.includes("client-secret-1"), "names, never values");
    assert.equal((await bare.inject("/slack/install?ticket=x.y")).statusCode, 404);
  } finally {
    await bare.close();
  }
});

test("every workspace's events arrive at one URL, signed with the app's secret, and find their account by team", async () => {
  const verification = JSON.stringify({ type: "url_verification", challenge: "c-123", token: "x" });
  assert.deepEqual(
    (
      await app.inject({ method: "POST", url: "/webhooks/slack", headers: signed(verification), payload: verification })
    ).json(),
    { challenge: "c-123" },
  );

  const mention = JSON.stringify({
    type: "event_callback",
    team_id: "T777",
    event_id: "EvOAUTH1",
    event: {
      type: "app_mention",
      user: "U1",
      text: "<@UT777BOT> where is my order?",
      ts: "1700000000.000100",
      channel: "C1",
    },
  });
  assert.equal(
    (await app.inject({ method: "POST", url: "/webhooks/slack", headers: signed(mention), payload: mention }))
      .statusCode,
    200,
  );
  const stored = await t.db.message.findFirstOrThrow({ where: { dedupeKey: "EvOAUTH1" } });
  assert.equal((stored.content as { text: string }).text, "where is my order?");

  const wrongSecret = { ...signed(mention), "x-slack-signature": "v0=00" };
  assert.equal(
    (await app.inject({ method: "POST", url: "/webhooks/slack", headers: wrongSecret, payload: mention })).statusCode,
    401,
  );
  const otherTeam = mention.replace("T777", "T999");
  assert.equal(
    (await app.inject({ method: "POST", url: "/webhooks/slack", headers: signed(otherTeam), payload: otherTeam }))
      .statusCode,
    404,
  );
});

test("the shared URL verifies before it reads anything: unsigned, malformed or future-dated requests get a 4xx", async () => {
  const before = await t.db.message.count();
  const post = (payload: string, headers: Record<string, string>) =>
    app.inject({ method: "POST", url: "/webhooks/slack", headers, payload });
  for (const body of [
    "null",
    '{"team_id":"T\\u0000"}',
    "[1]",
    "not json",
    `${"[".repeat(10_000)}${"]".repeat(10_000)}`,
  ]) {
    const unsigned = await post(body, { "content-type": "application/json" });
    assert.equal(unsigned.statusCode, 401, `unsigned ${body.slice(0, 20)}`);
    const signedBody = await post(body, signed(body));
    assert.ok([400, 404].includes(signedBody.statusCode), `signed ${body.slice(0, 20)}: ${signedBody.statusCode}`);
    assert.equal(typeof signedBody.json().error.code, "string");
  }
  // Bolt refuses a stale timestamp; a signed request held back must not pass for one from the future either.
  const mention = JSON.stringify({
    type: "event_callback",
    team_id: "T777",
    event_id: "EvFUTURE",
    event: { type: "app_mention", user: "U1", text: "<@UT777BOT> hi", ts: "1700000000.000200", channel: "C1" },
  });
  const ts = Math.floor(Date.now() / 1000) + 6 * 60;
  const future = {
    "content-type": "application/json",
    "x-slack-request-timestamp": String(ts),
    "x-slack-signature": `v0=${createHmac("sha256", APP_SIGNING_SECRET).update(`v0:${ts}:${mention}`).digest("hex")}`,
  };
  assert.equal((await post(mention, future)).statusCode, 401);
  assert.equal(await t.db.message.count(), before, "nothing stored");
});

test("another tenant cannot take a workspace's events by claiming its team id", async () => {
  const other = await t.db.tenant.create({ data: { name: "Squatter" } });
  const k = newKey();
  await t.db.apiKey.create({
    data: { id: k.id, tenantId: other.id, name: "admin", scopes: ["admin"], secretHash: k.hash, hint: "x" },
  });
  const connect = (config: Record<string, unknown>) =>
    app.inject({
      method: "POST",
      url: "/v1/channel-accounts",
      headers: { authorization: `Bearer ${k.key}` },
      payload: { channel: "slack", name: "Claimed", config, credentials: { botToken: "xoxb-x", signingSecret: "s" } },
    });
  const claimed = await connect({ teamId: "T777", installedVia: "oauth" });
  assert.equal(claimed.statusCode, 400, "only an OAuth installation is routed by team");
  assert.equal((await connect({ teamId: "T777" })).statusCode, 201);
  // The real installation's row moves behind the claim in the table, so a lookup by team alone would find the claim.
  const installed = await t.db.channelAccount.findFirstOrThrow({ where: { tenantId } });
  await t.db.channelAccount.update({ where: { id: installed.id }, data: { name: "Acme workspace" } });

  const mention = JSON.stringify({
    type: "event_callback",
    team_id: "T777",
    event_id: "EvSQUAT",
    event: { type: "app_mention", user: "U1", text: "<@UT777BOT> still mine?", ts: "1700000000.000300", channel: "C1" },
  });
  const response = await app.inject({
    method: "POST",
    url: "/webhooks/slack",
    headers: signed(mention),
    payload: mention,
  });
  assert.equal(response.statusCode, 200);
  const stored = await t.db.message.findFirstOrThrow({ where: { dedupeKey: "EvSQUAT" } });
  assert.equal(stored.tenantId, tenantId, "the workspace's own tenant got its event");

  // Nor by installing the app into it with a link of its own: the installation is refused.
  const before = await t.db.channelAccount.findFirstOrThrow({ where: { id: installed.id } });
  const failed = await install(k.key);
  assert.equal(failed.statusCode, 400);
  assert.match(failed.body, /Installation failed/);
  const after = await t.db.channelAccount.findFirstOrThrow({ where: { id: installed.id } });
  assert.deepEqual([after.tenantId, after.secrets, after.config], [tenantId, before.secrets, before.config]);
  assert.equal(
    await t.db.channelAccount.count({
      where: { tenantId: other.id, config: { path: ["installedVia"], equals: "oauth" } },
    }),
    0,
  );
});

/** Runs the whole install flow with a link asked for with this key; the callback's response. */
async function install(withKey: string, code = "code-T777") {
  const link = await app.inject({
    method: "POST",
    url: "/v1/channels/slack/install-link",
    headers: { authorization: `Bearer ${withKey}` },
  });
  const url = new URL(link.json().url);
  const start = await app.inject(`${url.pathname}${url.search}`);
  const state = new URL(start.headers.location as string).searchParams.get("state")!;
  return app.inject({
    url: `/slack/oauth_redirect?code=${code}&state=${encodeURIComponent(state)}`,
    headers: { cookie: String(start.headers["set-cookie"]).split(";")[0]! },
  });
}

test("app_uninstalled disables the workspace's account; its events are refused after", async () => {
  const uninstall = JSON.stringify({
    type: "event_callback",
    team_id: "T777",
    event_id: "EvUN",
    event: { type: "app_uninstalled" },
  });
  assert.equal(
    (await app.inject({ method: "POST", url: "/webhooks/slack", headers: signed(uninstall), payload: uninstall }))
      .statusCode,
    200,
  );
  assert.equal((await t.db.channelAccount.findFirstOrThrow({ where: { tenantId } })).enabled, false);
  const mention = JSON.stringify({
    type: "event_callback",
    team_id: "T777",
    event_id: "EvAFTER",
    event: { type: "app_mention", user: "U1", text: "hi", ts: "1700000001.000100", channel: "C1" },
  });
  assert.equal(
    (await app.inject({ method: "POST", url: "/webhooks/slack", headers: signed(mention), payload: mention }))
      .statusCode,
    404,
  );

  // Installing again re-enables the same account, and its events are taken again.
  const accounts = await t.db.channelAccount.count();
  assert.equal((await install(key)).statusCode, 200);
  assert.equal(await t.db.channelAccount.count(), accounts, "no second account for the workspace");
  assert.equal(
    (
      await t.db.channelAccount.findFirstOrThrow({
        where: { tenantId, config: { path: ["teamId"], equals: "T777" }, name: { not: "Claimed" } },
      })
    ).enabled,
    true,
  );
  const again = mention.replace("EvAFTER", "EvAGAIN");
  assert.equal(
    (await app.inject({ method: "POST", url: "/webhooks/slack", headers: signed(again), payload: again })).statusCode,
    200,
  );
});
