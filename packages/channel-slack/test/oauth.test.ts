import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { startFakeSlack, type FakeSlack } from "@cb/fake-slack";
import Fastify, { type FastifyInstance } from "fastify";
import {
  installTicket,
  slackOAuth,
  tenantOfTicket,
  type SlackInstallation,
  type SlackOAuthOptions,
} from "../src/index.ts";

const STATE_SECRET = "state-secret";
let slack: FakeSlack;
let app: FastifyInstance;
let saved: [string, SlackInstallation][] = [];
let refuse = false;

async function server(extra: Partial<SlackOAuthOptions> = {}) {
  const server = Fastify();
  await server.register(slackOAuth, {
    clientId: "client-1",
    clientSecret: "client-secret-1",
    stateSecret: STATE_SECRET,
    redirectUri: "https://bot.example.com/slack/oauth_redirect",
    apiUrl: slack.url,
    authorizationUrl: "https://slack.example/oauth/v2/authorize",
    saveInstallation: async (tenantId, installation) => {
      if (refuse) throw new Error("database down");
      saved.push([tenantId, installation]);
    },
    ...extra,
  });
  return server;
}

before(async () => {
  slack = await startFakeSlack();
  slack.addOAuthApp("client-1", "client-secret-1");
  app = await server();
});
after(async () => {
  await app.close();
  await slack.close();
});
beforeEach(() => {
  saved = [];
  refuse = false;
});

test("install tickets name their tenant for an hour, and only when signed with the secret", () => {
  const now = 1_700_000_000_000;
  const ticket = installTicket("tenant-1", STATE_SECRET, 3600_000, now);
  assert.equal(tenantOfTicket(ticket, STATE_SECRET, now), "tenant-1");
  assert.equal(tenantOfTicket(ticket, STATE_SECRET, now + 3599_999), "tenant-1");
  assert.equal(tenantOfTicket(ticket, STATE_SECRET, now + 3600_000), null, "expired");
  assert.equal(tenantOfTicket(ticket, "another-secret", now), null);
  const [, mac] = ticket.split(".");
  const other = Buffer.from(JSON.stringify({ tenantId: "tenant-2", exp: now + 3600_000 })).toString("base64url");
  assert.equal(tenantOfTicket(`${other}.${mac}`, STATE_SECRET, now), null, "another tenant under the same signature");
  for (const broken of ["", "abc", "abc.", ".abc", `${ticket.split(".")[0]}.short`])
    assert.equal(tenantOfTicket(broken, STATE_SECRET, now), null, broken);
  // Fresh tickets last an hour from now by default.
  const fresh = installTicket("tenant-3", STATE_SECRET);
  assert.equal(tenantOfTicket(fresh, STATE_SECRET), "tenant-3");
  assert.equal(tenantOfTicket(fresh, STATE_SECRET, Date.now() + 3601_000), null);
});

async function start(on = app, tenantId = "tenant-1") {
  const started = await on.inject(`/slack/install?ticket=${installTicket(tenantId, STATE_SECRET)}`);
  assert.equal(started.statusCode, 302);
  const authorize = new URL(String(started.headers.location));
  return {
    authorize,
    cookie: String(started.headers["set-cookie"]).split(";")[0]!,
    state: authorize.searchParams.get("state")!,
  };
}

test("the install link sends a valid ticket's holder to Slack with the app's id, scopes and redirect", async () => {
  for (const url of ["/slack/install", "/slack/install?ticket=forged.ticket"]) {
    const refused = await app.inject(url);
    assert.equal(refused.statusCode, 403, url);
    assert.match(String(refused.headers["content-type"]), /^text\/html/);
    assert.match(refused.body, /Link expired/);
  }
  const { authorize } = await start();
  assert.equal(authorize.origin + authorize.pathname, "https://slack.example/oauth/v2/authorize");
  assert.equal(authorize.searchParams.get("client_id"), "client-1");
  assert.equal(authorize.searchParams.get("scope"), "chat:write,im:history,app_mentions:read");
  assert.equal(authorize.searchParams.get("redirect_uri"), "https://bot.example.com/slack/oauth_redirect");

  const narrow = await server({ scopes: ["chat:write"] });
  try {
    assert.equal((await start(narrow)).authorize.searchParams.get("scope"), "chat:write");
  } finally {
    await narrow.close();
  }
});

test("Slack's callback stores the workspace's bot for the ticket's tenant, once state and cookie match", async () => {
  const { cookie, state } = await start(app, "tenant-9");
  const callback = (code: string, withCookie = true) =>
    app.inject({
      url: `/slack/oauth_redirect?code=${code}&state=${encodeURIComponent(state)}`,
      headers: withCookie ? { cookie } : {},
    });
  const noCookie = await callback("code-T777", false);
  assert.equal(noCookie.statusCode, 400);
  assert.match(noCookie.body, /Installation failed/);
  assert.equal(saved.length, 0);

  const done = await callback("code-T777");
  assert.equal(done.statusCode, 200, done.body);
  assert.match(String(done.headers["content-type"]), /^text\/html/);
  assert.match(done.body, /The bot is ready in Team T777/);
  assert.deepEqual(saved, [
    [
      "tenant-9",
      {
        teamId: "T777",
        teamName: "Team T777",
        botToken: "xoxb-T777-installed",
        botUserId: "UT777BOT",
        appId: "A0FAKE",
      },
    ],
  ]);
});

test("a refused code or a failed save is a failure page, and nothing is kept", async () => {
  let { cookie, state } = await start();
  const badCode = await app.inject({
    url: `/slack/oauth_redirect?code=nonsense&state=${encodeURIComponent(state)}`,
    headers: { cookie },
  });
  assert.equal(badCode.statusCode, 400);
  assert.match(badCode.body, /Installation failed/);
  assert.match(String(badCode.headers["content-type"]), /^text\/html/);

  // Slack failing is reported at once, not retried while the browser waits.
  ({ cookie, state } = await start());
  slack.failNext("oauth.v2.access", { status: 500, error: "fatal_error" });
  const failed = await app.inject({
    url: `/slack/oauth_redirect?code=code-T779&state=${encodeURIComponent(state)}`,
    headers: { cookie },
  });
  assert.equal(failed.statusCode, 400);

  ({ cookie, state } = await start());
  refuse = true;
  const unsaved = await app.inject({
    url: `/slack/oauth_redirect?code=code-T778&state=${encodeURIComponent(state)}`,
    headers: { cookie },
  });
  assert.equal(unsaved.statusCode, 400);
  assert.equal(saved.length, 0);
});
