import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ChannelAccount, InboundEvent } from "@cb/core";
import { isValidSlackRequest } from "@slack/bolt";
import Fastify, { type FastifyInstance } from "fastify";
import { slackWebhook } from "../src/index.ts";
import { handConnected, SIGNING_SECRET } from "./support.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const SECRET = "workspace-secret";
const APP_SECRET = "app-secret";
// A workspace connected by hand (its own app), and one that installed the shared OAuth app.
const own: ChannelAccount = {
  id: "8b1d6a8e-0000-4000-8000-000000000011",
  tenantId: "t",
  channel: "slack",
  config: { teamId: "T111", botUserId: "W111" },
  secrets: { botToken: "xoxb-own", signingSecret: SECRET },
};
const installed: ChannelAccount = {
  id: "8b1d6a8e-0000-4000-8000-000000000012",
  tenantId: "t",
  channel: "slack",
  config: { teamId: "T777", botUserId: "UBOT" },
  secrets: { botToken: "xoxb-installed", signingSecret: APP_SECRET },
};
let accounts: ChannelAccount[];
let ingests: InboundEvent[][] = [];
let disabled: [string, string][] = [];

async function server(options: { appSecret?: string; findAccount?: boolean } = {}) {
  const app = Fastify();
  await app.register(slackWebhook(), {
    prefix: "/webhooks/slack",
    loadAccount: async (id) => accounts.find((a) => a.id === id) ?? null,
    ingest: async (_a, events) => void ingests.push(events),
    disableAccount: async (account, reason) => void disabled.push([account.id, reason]),
    ...(options.findAccount === false
      ? {}
      : { findAccount: async ({ teamId }) => accounts.find((a) => a.config.teamId === teamId) ?? null }),
    ...(options.appSecret ? { appSecrets: { signingSecret: options.appSecret } } : {}),
  });
  return app;
}
let app: FastifyInstance;
before(async () => {
  app = await server({ appSecret: APP_SECRET });
});
after(() => app.close());
beforeEach(() => {
  accounts = [own, installed];
  ingests = [];
  disabled = [];
});

const sign = (body: string, secret: string, contentType = "application/json") => {
  const ts = Math.floor(Date.now() / 1000);
  return {
    "content-type": contentType,
    "x-slack-request-timestamp": String(ts),
    "x-slack-signature": `v0=${createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex")}`,
  };
};
const post = (on: FastifyInstance, url: string, body: string, headers: Record<string, string>) =>
  on.inject({ method: "POST", url: `/webhooks/slack${url}`, headers, payload: body });
const mention = (teamId: string, botUserId: string, text = "where is my order?") =>
  JSON.stringify({
    type: "event_callback",
    team_id: teamId,
    event_id: `Ev-${teamId}`,
    event: { type: "app_mention", user: "U1", text: `<@${botUserId}> ${text}`, ts: "1700000000.000100", channel: "C1" },
  });
const texts = () => ingests.flat().map((e) => (e.type === "message" ? (e.message.text ?? e.message.postback) : e.type));

test("the shared URL finds each workspace by its team, in events and in interactions", async () => {
  const event = mention("T777", "UBOT");
  assert.equal((await post(app, "", event, sign(event, APP_SECRET))).statusCode, 200);
  const interaction = JSON.parse(fixture("block_actions_payload.json"));
  interaction.team.id = "T777";
  const form = `payload=${encodeURIComponent(JSON.stringify(interaction))}`;
  const pressed = await post(app, "", form, sign(form, APP_SECRET, "application/x-www-form-urlencoded; charset=utf-8"));
  assert.equal(pressed.statusCode, 200);
  assert.deepEqual(texts(), ["where is my order?", { payload: "click_me_123", title: "Button" }]);

  const elsewhere = mention("T999", "UBOT");
  const unknown = await post(app, "", elsewhere, sign(elsewhere, APP_SECRET));
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, "unknown_account");
  const unnamed = JSON.stringify({ type: "event_callback", event_id: "Ev0", event: { type: "app_mention" } });
  assert.equal((await post(app, "", unnamed, sign(unnamed, APP_SECRET))).statusCode, 404, "no team, no account");
  assert.equal(ingests.length, 2);
});

test("the shared URL answers Slack's URL check with the app's secret only, before any workspace installed it", async () => {
  accounts = [];
  const check = fixture("url_verification.json");
  const answered = await post(app, "", check, sign(check, APP_SECRET));
  assert.deepEqual(answered.json(), { challenge: JSON.parse(check).challenge });
  assert.equal((await post(app, "", check, sign(check, SECRET))).statusCode, 401);
  // A deployment without an OAuth app has no shared URL to check, nor accounts to find there.
  const plain = await server({ findAccount: false });
  try {
    assert.equal((await post(plain, "", check, sign(check, APP_SECRET))).statusCode, 404);
    const event = mention("T777", "UBOT");
    assert.equal((await post(plain, "", event, sign(event, APP_SECRET))).statusCode, 404);
  } finally {
    await plain.close();
  }
});

test("slash commands and other forms without a payload are verified, acknowledged and not stored", async () => {
  const command = "team_id=T777&command=%2Forder&text=123&channel_id=C1&user_id=U1";
  const form = "application/x-www-form-urlencoded";
  const acknowledged = await post(app, "", command, sign(command, APP_SECRET, form));
  assert.equal(acknowledged.statusCode, 200);
  assert.equal(acknowledged.body, "");
  assert.equal((await post(app, "", command, sign(command, "forged", form))).statusCode, 401);
  assert.equal((await post(app, `/${own.id}`, command, sign(command, SECRET, form))).statusCode, 200);
  assert.equal(ingests.length, 0);
});

test("a signed body that is not JSON is a 400; a forged one is a 401 whatever it holds", async () => {
  for (const [body, contentType] of [
    ["{broken", "application/json"],
    ["payload=%7Bbroken", "application/x-www-form-urlencoded"],
  ] as const) {
    const bad = await post(app, `/${own.id}`, body, sign(body, SECRET, contentType));
    assert.equal(bad.statusCode, 400, body);
    assert.equal(bad.json().code, "invalid_payload");
    const forged = await post(app, `/${own.id}`, body, sign(body, "forged", contentType));
    assert.equal(forged.statusCode, 401, body);
    assert.equal(forged.json().code, "invalid_signature");
  }
  const unsigned = mention("T111", "W111");
  const missing = await post(app, `/${own.id}`, unsigned, { "content-type": "application/json" });
  assert.equal(missing.statusCode, 401, "no signature at all");
  assert.equal(ingests.length, 0);
});

test("events with nothing to answer are acknowledged without a store; a reinstalled bot's new id is used at once", async () => {
  const reaction = fixture("event_callback_reaction_added.json");
  assert.equal((await post(app, `/${own.id}`, reaction, sign(reaction, SECRET))).statusCode, 200);
  const own_ = fixture("event_callback_message.json"); // posted by W111, the bot itself
  assert.equal((await post(app, `/${own.id}`, own_, sign(own_, SECRET))).statusCode, 200);
  assert.equal(ingests.length, 0, "ingest is not even called");

  const before = mention("T111", "W111");
  assert.equal((await post(app, `/${own.id}`, before, sign(before, SECRET))).statusCode, 200);
  accounts = [{ ...own, config: { teamId: "T111", botUserId: "W999" } }, installed];
  const after_ = mention("T111", "W999", "and now?");
  assert.equal((await post(app, `/${own.id}`, after_, sign(after_, SECRET))).statusCode, 200);
  assert.deepEqual(texts(), ["where is my order?", "and now?"]);
});

test("through the webhook, channel chatter is stored as not addressed; direct messages and mentions are", async () => {
  const message = (event: Record<string, unknown>) =>
    JSON.stringify({
      type: "event_callback",
      team_id: "T111",
      event_id: `Ev-${event.channel}`,
      event: { type: "message", user: "U5", ts: "1700000000.000200", ...event },
    });
  for (const body of [
    message({ channel: "C5", channel_type: "channel", text: "lunch anyone?" }),
    message({ channel: "D5", channel_type: "im", text: "where is my order?" }),
    mention("T111", "W111", "and mine?"),
  ])
    assert.equal((await post(app, `/${own.id}`, body, sign(body, SECRET))).statusCode, 200);
  assert.deepEqual(
    ingests
      .flat()
      .map((e) => e.type === "message" && [e.message.text, e.message.conversation.type, e.message.addressedToBot]),
    [
      ["lunch anyone?", "group", false],
      ["where is my order?", "private", true],
      ["and mine?", "group", true],
    ],
  );
});

test("Slack saying the bot is gone disables its account, with the reason; anything less does not", async () => {
  const revoked = (tokens?: unknown) =>
    JSON.stringify({
      type: "event_callback",
      team_id: "T111",
      event_id: "EvR",
      event: { type: "tokens_revoked", tokens },
    });
  for (const body of [
    revoked(),
    revoked({ oauth: ["U1"] }),
    revoked({ oauth: ["U1"], bot: [] }),
    JSON.stringify({ type: "event_callback", team_id: "T111", event_id: "EvX" }),
  ])
    assert.equal((await post(app, `/${own.id}`, body, sign(body, SECRET))).statusCode, 200, body);
  assert.deepEqual(disabled, []);
  const bot = revoked({ bot: ["W111"] });
  assert.equal((await post(app, `/${own.id}`, bot, sign(bot, SECRET))).statusCode, 200);
  const uninstalled = fixture("event_callback_app_uninstalled.json");
  assert.equal((await post(app, `/${own.id}`, uninstalled, sign(uninstalled, SECRET))).statusCode, 200);
  assert.deepEqual(disabled, [
    [own.id, "Slack: tokens_revoked"],
    [own.id, "Slack: app_uninstalled"],
  ]);
  assert.equal(ingests.length, 0);
});

test("only block_actions are button presses: a legacy attachment action or a dialog submission is acknowledged, not stored", async () => {
  for (const interaction of [
    {
      type: "interactive_message",
      callback_id: "legacy",
      team: { id: "T111" },
      channel: { id: "C1" },
      user: { id: "U1" },
      action_ts: "1700000000.1",
      actions: [{ name: "choice", type: "button", value: "yes" }],
    },
    {
      type: "dialog_submission",
      callback_id: "form",
      team: { id: "T111" },
      channel: { id: "C1" },
      user: { id: "U1" },
      action_ts: "1700000000.2",
      submission: { name: "Ann" },
    },
  ]) {
    const form = `payload=${encodeURIComponent(JSON.stringify(interaction))}`;
    const response = await post(app, `/${own.id}`, form, sign(form, SECRET, "application/x-www-form-urlencoded"));
    assert.equal(response.statusCode, 200, interaction.type);
  }
  assert.equal(ingests.length, 0);
});

// A workspace connected by hand, on a server that only loads accounts by id.
const account = handConnected;
let byId: FastifyInstance;
const ingested: InboundEvent[] = [];

const signAt = (body: string, timestamp = Math.floor(Date.now() / 1000), secret = SIGNING_SECRET) => ({
  "x-slack-request-timestamp": String(timestamp),
  "x-slack-signature": `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`,
});

before(async () => {
  byId = Fastify();
  await byId.register(slackWebhook(), {
    prefix: "/webhooks/slack",
    loadAccount: async (id) => (id === account.id ? account : null),
    ingest: async (_a, events) => void ingested.push(...events),
  });
});
after(() => byId.close());

test("Slack's official signing example verifies at its time; a tampered byte, a wrong secret or a stale timestamp do not", () => {
  const v = JSON.parse(fixture("signing_test_vector.json"));
  const check = (body: string, secret: string, now: number) =>
    isValidSlackRequest({
      signingSecret: secret,
      body,
      headers: {
        "x-slack-signature": v.headers["x-slack-signature"],
        "x-slack-request-timestamp": Number(v.headers["x-slack-request-timestamp"]),
      },
      nowMilliseconds: now,
    });
  const at = Number(v.headers["x-slack-request-timestamp"]) * 1000;
  assert.ok(check(v.raw_body, v.signing_secret, at + 1000));
  assert.ok(!check(v.raw_body.replace("roadrunner", "roadrunnes"), v.signing_secret, at + 1000));
  assert.ok(!check(v.raw_body, "0".repeat(32), at + 1000));
  assert.ok(!check(v.raw_body, v.signing_secret, at + 6 * 60 * 1000), "older than five minutes");
});

test("the webhook: 404, 401, url_verification, events ingested through Bolt, retries keep their event id", async () => {
  const post = (body: string, headers: Record<string, string>, contentType = "application/json", id = account.id) =>
    byId.inject({
      method: "POST",
      url: `/webhooks/slack/${id}`,
      headers: { "content-type": contentType, ...headers },
      payload: body,
    });
  const verification = fixture("url_verification.json");
  assert.equal(
    (await post(verification, signAt(verification), "application/json", "8b1d6a8e-0000-4000-8000-00000000ffff"))
      .statusCode,
    404,
  );
  assert.equal((await post(verification, signAt(verification, undefined, "wrong"))).statusCode, 401);
  assert.equal(
    (await post(verification, signAt(verification, Math.floor(Date.now() / 1000) - 600))).statusCode,
    401,
    "stale",
  );
  assert.deepEqual((await post(verification, signAt(verification))).json(), {
    challenge: JSON.parse(verification).challenge,
  });
  assert.equal(ingested.length, 0);

  const mention = fixture("event_callback_app_mention.json");
  assert.equal((await post(mention, signAt(mention))).statusCode, 200);
  assert.equal(
    (await post(mention, { ...signAt(mention), "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout" }))
      .statusCode,
    200,
  );
  assert.equal(ingested.length, 2);
  assert.ok(
    ingested.every(
      (e) => e.type === "message" && e.message.platformEventId === "Ev111" && e.message.text === "Hi there!",
    ),
  );

  const form = fixture("block_actions_form_body.txt").trim();
  assert.equal((await post(form, signAt(form), "application/x-www-form-urlencoded")).statusCode, 200);
  const press = ingested.at(-1)!;
  assert.ok(press.type === "message");
  assert.deepEqual(press.message.postback, { payload: "click_me_123", title: "Button" });

  const opened = fixture("event_callback_app_home_opened.json");
  assert.equal((await post(opened, signAt(opened))).statusCode, 200);
  const visit = ingested.pop()!;
  assert.ok(visit.type === "message" && visit.message.command?.name === "app_home_opened", "Bolt listens for it");

  const reaction = fixture("event_callback_reaction_added.json");
  assert.equal((await post(reaction, signAt(reaction))).statusCode, 200);
  assert.equal(ingested.length, 3, "reactions are acknowledged and ignored");
  // A server that cannot disable accounts still acknowledges an uninstall.
  const uninstalled = fixture("event_callback_app_uninstalled.json");
  assert.equal((await post(uninstalled, signAt(uninstalled))).statusCode, 200);
  assert.equal(ingested.length, 3);
});
