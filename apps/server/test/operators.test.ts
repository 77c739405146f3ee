import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { captureLogs } from "@cb/logging/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { loadConfig } from "@cb/runtime";
import { buildServer, operatorOptions } from "../src/index.ts";

// Operators of a tenant: invitations, sign-in with the session cookie and its CSRF token, roles,
// the limit on failed sign-ins (shared by two servers on one database), tenant isolation.
const OPERATOR = "operator-token-0123456789";
const PASSWORD = "correct horse battery staple";
const sealer = createSealer(parseKeyRing(generateKey("test")));
const logs = captureLogs("debug");
let t: TestDatabase;
let app: FastifyInstance;
let other: FastifyInstance;
let ingestor: Ingestor;
let keyA: string;
let keyB: string;
let tenantA: string;
let telegramAccount: string;
/** Every password and token the tests handle: none may appear in a response body or a log line. */
const secrets = new Set<string>([PASSWORD]);

const server = (secureCookie?: "always" | "never") =>
  buildServer({
    db: t.db,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [], env: {} }),
    ingestor,
    drivers: [],
    admin: {
      db: t.db,
      sealer,
      channelEnv: {},
      operatorToken: OPERATOR,
      operators: { loginLimit: { perEmail: 5, perIp: 12, windowS: 900 }, secureCookie },
    },
    logger: logs.logger,
  });

before(async () => {
  t = await createTestDatabase();
  ingestor = createIngestor({ connectionString: t.url });
  app = await server();
  other = await server();
  const tenant = async (name: string) =>
    (
      await app.inject({
        method: "POST",
        url: "/v1/tenants",
        headers: { authorization: `Bearer ${OPERATOR}` },
        payload: { name },
      })
    ).json();
  const a = await tenant("Acme");
  keyA = a.apiKey.key;
  tenantA = a.tenant.id;
  keyB = (await tenant("Other")).apiKey.key;
  telegramAccount = (
    await t.db.channelAccount.create({
      data: { tenantId: tenantA, channel: "telegram", name: "bot", secrets: sealer.sealJson({}) },
    })
  ).id;
});
after(async () => {
  await app.close();
  await other.close();
  await ingestor.close();
  await t.drop();
});

interface Session {
  token: string;
  csrfToken: string;
  operator: { id: string; email: string; role: string };
}

const withKey = (method: InjectOptions["method"], url: string, payload?: object, key = keyA) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });

/** A request with the session cookie, and its CSRF token unless told otherwise. */
const as = (
  session: Session,
  method: InjectOptions["method"],
  url: string,
  payload?: object,
  csrf: string | null = session.csrfToken,
) =>
  app.inject({
    method,
    url,
    cookies: { cb_session: session.token },
    headers: csrf === null ? {} : { "x-csrf-token": csrf },
    ...(payload ? { payload } : {}),
  });

const sessionCookie = (response: LightMyRequestResponse) =>
  (response.cookies as { name: string; value: string }[]).find((c) => c.name === "cb_session");

function signedIn(response: LightMyRequestResponse): Session {
  assert.equal(response.statusCode, 200, response.body);
  const cookie = sessionCookie(response);
  assert.ok(cookie, "the session cookie is set");
  secrets.add(cookie.value);
  secrets.add(response.json().csrfToken);
  return { token: cookie.value, csrfToken: response.json().csrfToken, operator: response.json().operator };
}

const invite = async (email: string, role: string, key = keyA) => {
  const response = await withKey("POST", "/v1/operators", { email, role }, key);
  assert.equal(response.statusCode, 201, response.body);
  secrets.add(response.json().invitation.token);
  return response.json() as { operator: Session["operator"]; invitation: { token: string; expiresAt: string } };
};
const accept = (token: string, password = PASSWORD, extra: object = {}) =>
  app.inject({ method: "POST", url: "/v1/auth/accept-invitation", payload: { token, password, ...extra } });
const login = (email: string, password = PASSWORD, remoteAddress = "127.0.0.1", on = app) =>
  on.inject({ method: "POST", url: "/v1/auth/login", payload: { email, password }, remoteAddress });

/** An operator of tenant A (or B's key) with the role, signed in. */
async function operator(email: string, role: string, key = keyA): Promise<Session> {
  const invited = await invite(email, role, key);
  return signedIn(await accept(invited.invitation.token));
}

let nextChat = 1;
const conversation = () =>
  t.db.conversation.create({
    data: {
      tenantId: tenantA,
      channelAccountId: telegramAccount,
      externalId: String(nextChat++),
      lastInboundAt: new Date(),
    },
  });

test("invite, accept, sign in: the operator, a CSRF token and an httpOnly SameSite=Strict cookie", async () => {
  const invitedResponse = await withKey("POST", "/v1/operators", { email: "Ada@Shop.Example", role: "admin" });
  assert.equal(invitedResponse.statusCode, 201);
  const invited = invitedResponse.json() as Awaited<ReturnType<typeof invite>>;
  secrets.add(invited.invitation.token);
  assert.deepEqual(Object.keys(invited.operator).sort(), [
    "createdAt",
    "disabled",
    "email",
    "id",
    "lastLoginAt",
    "name",
    "role",
    "tenantId",
  ]);
  assert.equal(invited.operator.email, "ada@shop.example", "stored lower-cased");
  assert.ok(Math.abs(Date.parse(invited.invitation.expiresAt) - Date.now() - 7 * 86_400_000) < 60_000, "7 days");
  const row = await t.db.operator.findUniqueOrThrow({ where: { id: invited.operator.id } });
  assert.equal(row.invitationHash, createHash("sha256").update(invited.invitation.token).digest("hex"));
  assert.equal(row.passwordHash, null);

  const accepted = await accept(invited.invitation.token, PASSWORD, { name: "Ada" });
  const first = signedIn(accepted);
  assert.equal(accepted.json().operator.name, "Ada");
  assert.ok(accepted.json().operator.lastLoginAt);
  assert.match((await t.db.operator.findUniqueOrThrow({ where: { id: row.id } })).passwordHash!, /^\$argon2id\$/);
  const again = await accept(invited.invitation.token, "another long password");
  assert.equal(again.statusCode, 401, "an invitation is used once");
  assert.equal(again.json().error.code, "invalid_invitation");

  const response = await login("ADA@shop.example");
  const session = signedIn(response);
  assert.notEqual(session.token, first.token);
  const cookie = response.headers["set-cookie"] as string;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.match(cookie, /Path=\//);
  assert.doesNotMatch(cookie, /Secure/, "plain http from loopback: no Secure (browsers would drop it)");
  const stored = await t.db.operatorSession.findMany({ where: { operatorId: row.id } });
  assert.ok(
    stored.every((s) => s.id !== session.token && s.id.length === 64),
    "stored as a hash",
  );
  assert.ok(
    stored.some((s) => s.id === createHash("sha256").update(session.token).digest("hex")),
    "the cookie's token hashes to a stored session",
  );
  const remote = await login("ada@shop.example", PASSWORD, "203.0.113.9");
  signedIn(remote);
  assert.match(remote.headers["set-cookie"] as string, /; Secure/, "from anywhere else over http: Secure");

  const current = await as(session, "GET", "/v1/auth/session");
  assert.equal(current.statusCode, 200);
  for (const carrying of [invitedResponse, accepted, response, current])
    assert.equal(carrying.headers["cache-control"], "no-store", "a response with a token is cached nowhere");
  assert.deepEqual(
    { id: current.json().operator.id, email: current.json().operator.email, csrfToken: current.json().csrfToken },
    { id: row.id, email: "ada@shop.example", csrfToken: session.csrfToken },
  );
  assert.equal((await app.inject({ url: "/v1/auth/session" })).statusCode, 401, "no cookie");
  assert.equal((await withKey("GET", "/v1/auth/session")).statusCode, 401, "an API key has no session");
});

test("the settings: session lengths and the cookie's Secure attribute, from the environment or told", async () => {
  assert.deepEqual(operatorOptions(loadConfig({})), {
    sessions: { idleMs: 12 * 3_600_000, absoluteMs: 7 * 86_400_000 },
    secureCookie: "auto",
  });
  const env = { SESSION_IDLE_HOURS: "0.5", SESSION_MAX_DAYS: "1", SESSION_COOKIE_SECURE: "always" };
  assert.deepEqual(operatorOptions(loadConfig(env)), {
    sessions: { idleMs: 1_800_000, absoluteMs: 86_400_000 },
    secureCookie: "always",
  });
  assert.throws(() => loadConfig({ SESSION_COOKIE_SECURE: "sometimes" }));
  await operator("secure@shop.example", "viewer");
  for (const [mode, address, secure] of [
    ["always", "127.0.0.1", true],
    ["never", "203.0.113.9", false],
  ] as const) {
    const told = await server(mode);
    const response = await login("secure@shop.example", PASSWORD, address, told);
    signedIn(response);
    assert.equal(/; Secure/.test(response.headers["set-cookie"] as string), secure, mode);
    await told.close();
  }
});

test("accepting: an expired, unknown or malformed token is refused; a short password is invalid", async () => {
  const invited = await invite("late@shop.example", "viewer");
  assert.equal((await accept(invited.invitation.token, "short")).statusCode, 400);
  await t.db.operator.update({
    where: { id: invited.operator.id },
    data: { invitationExpiresAt: new Date(Date.now() - 1000) },
  });
  for (const token of [invited.invitation.token, "x".repeat(43), "not-a-token"]) {
    const response = await accept(token);
    assert.equal(response.statusCode, 401, token);
    assert.equal(response.json().error.code, "invalid_invitation");
    assert.equal(sessionCookie(response), undefined);
  }
});

test("a wrong password and an unknown e-mail get the same 401, taking about as long", async () => {
  await operator("bob@shop.example", "agent");
  const wrong = await login("bob@shop.example", "not the password at all");
  const unknown = await login("nobody@shop.example");
  assert.equal(wrong.statusCode, 401);
  assert.deepEqual(unknown.json(), wrong.json());
  assert.equal(sessionCookie(wrong), undefined);
  // The unknown e-mail's password is still hashed (against a dummy): medians, with a wide margin.
  const median = async (email: string) => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await login(email, "not the password at all", `192.0.2.${i + 1}`);
      times.push(performance.now() - started);
    }
    return times.sort((x, y) => x - y)[1]!;
  };
  const [known, nobody] = [await median("bob@shop.example"), await median("nobody2@shop.example")];
  assert.ok(nobody > known / 3, `unknown e-mail ${nobody.toFixed(1)} ms, wrong password ${known.toFixed(1)} ms`);
});

test("with the cookie: reads need nothing more, changes need the CSRF token (403 csrf without it)", async () => {
  const admin = await operator("carol@shop.example", "admin");
  assert.equal((await as(admin, "GET", "/v1/intents", undefined, null)).statusCode, 200);
  const intent = { name: "greet", examples: ["hello"] };
  for (const csrf of [null, "", "forged", admin.csrfToken.slice(1)]) {
    const refused = await as(admin, "POST", "/v1/intents", intent, csrf);
    assert.equal(refused.statusCode, 403, String(csrf));
    assert.equal(refused.json().error.code, "csrf");
  }
  assert.equal(await t.db.intent.count({ where: { tenantId: tenantA } }), 0);
  assert.equal((await as(admin, "POST", "/v1/intents", intent)).statusCode, 201);
  const invited = await as(admin, "POST", "/v1/operators", { email: "dan@shop.example", role: "viewer" });
  assert.equal(invited.statusCode, 201, "an admin operator invites");
  secrets.add(invited.json().invitation.token);
  assert.equal(invited.json().operator.tenantId, tenantA);
});

test("a viewer reads and changes nothing: 403 on every write", async () => {
  const viewer = await operator("erin@shop.example", "viewer");
  const { id } = await conversation();
  assert.equal((await as(viewer, "GET", `/v1/conversations/${id}`)).statusCode, 200);
  assert.equal((await as(viewer, "GET", "/v1/operators")).statusCode, 200);
  for (const [method, url, payload] of [
    ["POST", "/v1/intents", { name: "x", examples: [] }],
    ["POST", `/v1/conversations/${id}/handoff`, {}],
    ["POST", `/v1/conversations/${id}/messages`, { reply: { type: "text", text: "hi" } }],
    ["POST", "/v1/operators", { email: "x@shop.example", role: "admin" }],
    ["PATCH", `/v1/operators/${viewer.operator.id}`, { role: "admin" }],
    ["PATCH", "/v1/tenant", { name: "Mine" }],
    ["POST", "/v1/api-keys", { name: "k", scopes: ["admin"] }],
    ["POST", `/v1/deliveries/${crypto.randomUUID()}/replay`, undefined],
  ] as const) {
    const response = await as(viewer, method, url, payload);
    assert.equal(response.statusCode, 403, `${method} ${url}`);
    assert.equal(response.json().error.code, "forbidden");
  }
  assert.equal((await t.db.conversation.findUniqueOrThrow({ where: { id } })).mode, "bot");
  assert.equal((await t.db.operator.findUniqueOrThrow({ where: { id: viewer.operator.id } })).role, "viewer");
});

test("an agent takes over (assigned to themselves), answers and gives back; may not change the bot", async () => {
  const agent = await operator("frank@shop.example", "agent");
  const { id } = await conversation();
  const taken = await as(agent, "POST", `/v1/conversations/${id}/handoff`, {});
  assert.equal(taken.statusCode, 200);
  assert.equal(taken.json().mode, "human");
  assert.equal(taken.json().assignee, "frank@shop.example");
  const named = await as(agent, "POST", `/v1/conversations/${id}/handoff`, { assignee: "gina@shop.example" });
  assert.equal(named.json().assignee, "gina@shop.example", "an assignee given wins");
  const sent = await as(agent, "POST", `/v1/conversations/${id}/messages`, { reply: { type: "text", text: "Hi" } });
  assert.equal(sent.statusCode, 202);
  assert.equal((await as(agent, "POST", `/v1/conversations/${id}/handoff/end`)).json().mode, "bot");
  const replay = await as(agent, "POST", `/v1/deliveries/${crypto.randomUUID()}/replay`);
  assert.equal(replay.statusCode, 404, "replaying is an agent's: past the permission check, nothing found");
  assert.equal((await as(agent, "POST", "/v1/intents/test", { text: "hello" })).statusCode, 200);

  for (const [method, url, payload] of [
    ["POST", "/v1/intents", { name: "x", examples: [] }],
    ["POST", "/v1/operators", { email: "x@shop.example", role: "agent" }],
    ["PATCH", "/v1/tenant", { name: "Mine" }],
  ] as const) {
    const response = await as(agent, method, url, payload);
    assert.equal(response.statusCode, 403, `${method} ${url}`);
  }
  const byKey = await withKey("POST", `/v1/conversations/${(await conversation()).id}/handoff`, {});
  assert.equal(byKey.json().mode, "pending", "an API key without an assignee leaves it waiting");
});

test("failed sign-ins: after 5 for an e-mail, 429 with Retry-After in every process, the right password too", async () => {
  await operator("gus@shop.example", "agent");
  const from = "198.51.100.10";
  const fail = (on = app) => login("gus@shop.example", "wrong password!", from, on);
  // Four failures, then a success: the count starts again.
  for (let i = 0; i < 4; i++) assert.equal((await fail()).statusCode, 401);
  signedIn(await login("gus@shop.example", PASSWORD, from));
  for (let i = 0; i < 4; i++) assert.equal((await fail()).statusCode, 401);
  // The fifth failure is counted by the other server: the database holds the count.
  assert.equal((await fail(other)).statusCode, 401);
  for (const [on, address] of [
    [app, from],
    [other, "198.51.100.20"],
  ] as const) {
    const refused = await login("gus@shop.example", PASSWORD, address, on);
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().error.code, "too_many_attempts");
    const retry = Number(refused.headers["retry-after"]);
    assert.ok(retry > 800 && retry <= 900, String(retry));
    assert.equal(sessionCookie(refused), undefined);
  }
  const rows = await t.db.rateLimit.findMany({ where: { key: { startsWith: "login-email:" } } });
  assert.ok(rows.length > 0 && rows.every((r) => !r.key.includes("gus")), "e-mails are counted under a hash");
});

test("sign-ins sent at once cannot pass the limit together: each is counted before its password is checked", async () => {
  await operator("hana@shop.example", "agent");
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => login("hana@shop.example", "wrong password!", `198.51.100.${120 + i}`)),
  );
  const statuses = answers.map((a) => a.statusCode).sort();
  assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(7).fill(429)]);
});

test("failed sign-ins from one address, whatever the e-mails: 429 past the address's limit", async () => {
  const address = "198.51.100.77";
  for (let i = 0; i < 12; i++)
    assert.equal((await login(`guess${i}@shop.example`, "wrong password!", address)).statusCode, 401);
  assert.equal((await login("someone-else@shop.example", "wrong password!", address)).statusCode, 429);
  assert.equal((await login("someone-else@shop.example", "wrong password!", "198.51.100.78")).statusCode, 401);
});

test("sign-out ends the session and clears the cookie; it needs the CSRF token", async () => {
  const session = await operator("hal@shop.example", "viewer");
  assert.equal((await as(session, "POST", "/v1/auth/logout", undefined, null)).statusCode, 403);
  const out = await as(session, "POST", "/v1/auth/logout");
  assert.equal(out.statusCode, 204);
  const cleared = sessionCookie(out) as { value: string; expires?: Date } | undefined;
  assert.equal(cleared?.value, "");
  assert.ok(cleared?.expires && cleared.expires.getTime() < Date.now(), "the cookie expires at once");
  const after = await as(session, "GET", "/v1/auth/session");
  assert.equal(after.statusCode, 401);
  assert.equal((await as(session, "GET", "/v1/intents")).statusCode, 401);
});

test("sessions end when idle or at their absolute end; use slides the idle end, never past the absolute", async () => {
  const session = await operator("ida@shop.example", "viewer");
  const where = { operatorId: session.operator.id };
  const soon = new Date(Date.now() + 5_000);
  await t.db.operatorSession.updateMany({ where, data: { expiresAt: soon } });
  assert.equal((await as(session, "GET", "/v1/intents")).statusCode, 200);
  const slid = (await t.db.operatorSession.findFirstOrThrow({ where })).expiresAt.getTime();
  assert.ok(Math.abs(slid - Date.now() - 12 * 3_600_000) < 60_000, "12 hours from now");

  const end = new Date(Date.now() + 120_000);
  await t.db.operatorSession.updateMany({ where, data: { expiresAt: soon, absoluteExpiresAt: end } });
  await as(session, "GET", "/v1/intents");
  assert.equal((await t.db.operatorSession.findFirstOrThrow({ where })).expiresAt.getTime(), end.getTime());

  await t.db.operatorSession.updateMany({ where, data: { expiresAt: new Date(Date.now() - 1) } });
  const expired = await as(session, "GET", "/v1/intents");
  assert.equal(expired.statusCode, 401);
  assert.match(expired.json().error.message, /session has ended/);
  assert.equal(await t.db.operatorSession.count({ where }), 0, "deleted when seen");

  // Ended sessions nobody presents again go at the next sign-in, anyone's.
  const unseen = signedIn(await login("ida@shop.example"));
  await t.db.operatorSession.updateMany({ where, data: { expiresAt: new Date(Date.now() - 1) } });
  signedIn(await login("ada@shop.example"));
  assert.equal(await t.db.operatorSession.count({ where }), 0);
  assert.equal((await as(unseen, "GET", "/v1/intents")).statusCode, 401);
});

test("a disabled operator's sessions end and they cannot sign in; enabled again, they can", async () => {
  const admin = await operator("jon@shop.example", "admin");
  const target = await operator("kim@shop.example", "agent");
  const patched = await as(admin, "PATCH", `/v1/operators/${target.operator.id}`, { disabled: true, name: "Kim" });
  assert.equal(patched.statusCode, 200);
  assert.equal(patched.json().disabled, true);
  assert.equal(patched.json().name, "Kim");
  assert.equal(await t.db.operatorSession.count({ where: { operatorId: target.operator.id } }), 0);
  assert.equal((await as(target, "GET", "/v1/intents")).statusCode, 401);
  // Disabled by any means (a race with a sign-in, a change in the database): its sessions stop working.
  const other = signedIn(await login("jon@shop.example"));
  await t.db.operator.update({ where: { id: admin.operator.id }, data: { disabled: true } });
  assert.equal((await as(other, "GET", "/v1/intents")).statusCode, 401);
  await t.db.operator.update({ where: { id: admin.operator.id }, data: { disabled: false } });
  const refused = await login("kim@shop.example");
  assert.equal(refused.statusCode, 401);
  assert.equal(refused.json().error.message, "wrong e-mail or password");
  await as(admin, "PATCH", `/v1/operators/${target.operator.id}`, { disabled: false, role: "viewer" });
  const back = signedIn(await login("kim@shop.example"));
  assert.equal(back.operator.role, "viewer");
});

test("a role change holds at once; a removed operator's sessions end", async () => {
  const target = await operator("lee@shop.example", "agent");
  const { id } = await conversation();
  await withKey("PATCH", `/v1/operators/${target.operator.id}`, { role: "viewer" });
  assert.equal((await as(target, "POST", `/v1/conversations/${id}/handoff`, {})).statusCode, 403);
  assert.equal((await withKey("DELETE", `/v1/operators/${target.operator.id}`)).statusCode, 204);
  assert.equal((await as(target, "GET", "/v1/intents")).statusCode, 401);
  assert.equal((await withKey("GET", `/v1/operators/${target.operator.id}`)).statusCode, 404);
  assert.equal((await withKey("DELETE", `/v1/operators/${target.operator.id}`)).statusCode, 404);
});

test("the tenant's last enabled admin cannot be demoted, disabled or removed (409); with another admin, they can", async () => {
  const created = await app.inject({
    method: "POST",
    url: "/v1/tenants",
    headers: { authorization: `Bearer ${OPERATOR}` },
    payload: { name: "Solo" },
  });
  const key = created.json().apiKey.key;
  const first = await operator("solo-admin@shop.example", "admin", key);
  const agent = await operator("solo-agent@shop.example", "agent", key);
  const url = `/v1/operators/${first.operator.id}`;
  for (const [method, body] of [
    ["PATCH", { role: "agent" }],
    ["PATCH", { disabled: true }],
    ["DELETE", undefined],
  ] as const) {
    const refused = await withKey(method, url, body, key);
    assert.equal(refused.statusCode, 409, `${method} ${JSON.stringify(body)}: ${refused.body}`);
    assert.equal(refused.json().error.code, "last_admin");
  }
  assert.equal((await as(first, "GET", "/v1/operators")).statusCode, 200, "still an admin, still signed in");
  assert.equal((await withKey("PATCH", `/v1/operators/${agent.operator.id}`, { disabled: true }, key)).statusCode, 200);
  // Both admins demoted at once: one succeeds, the other is then the last.
  await withKey("PATCH", `/v1/operators/${agent.operator.id}`, { role: "admin", disabled: false }, key);
  const both = await Promise.all([
    withKey("PATCH", `/v1/operators/${agent.operator.id}`, { role: "viewer" }, key),
    withKey("PATCH", url, { role: "viewer" }, key),
  ]);
  assert.deepEqual(both.map((r) => r.statusCode).sort(), [200, 409]);
  const admins = (await withKey("GET", "/v1/operators", undefined, key))
    .json()
    .data.filter((o: { role: string; disabled: boolean }) => o.role === "admin" && !o.disabled);
  assert.equal(admins.length, 1, "one admin left");
});

test("a new invitation resets the password: the old one works until it is used, then not; sessions end", async () => {
  const session = await operator("mia@shop.example", "agent");
  const reissued = await withKey("POST", `/v1/operators/${session.operator.id}/invitation`);
  assert.equal(reissued.statusCode, 201);
  const { token } = reissued.json().invitation;
  secrets.add(token);
  assert.equal((await as(session, "GET", "/v1/intents")).statusCode, 200, "nothing ends before it is used");
  signedIn(await accept(token, "a brand new passphrase"));
  assert.equal((await as(session, "GET", "/v1/intents")).statusCode, 401, "earlier sessions end");
  assert.equal((await login("mia@shop.example")).statusCode, 401);
  signedIn(await login("mia@shop.example", "a brand new passphrase"));
});

test("operators are listed a page at a time, newest first; e-mails are unique in any case, across tenants", async () => {
  const first = await invite("nia@shop.example", "viewer");
  const second = await invite("oli@shop.example", "viewer");
  const page = await withKey("GET", "/v1/operators?limit=1");
  assert.deepEqual(
    page.json().data.map((o: { id: string }) => o.id),
    [second.operator.id],
  );
  const next = await withKey("GET", `/v1/operators?limit=1&cursor=${page.json().nextCursor}`);
  assert.deepEqual(
    next.json().data.map((o: { id: string }) => o.id),
    [first.operator.id],
  );
  for (const key of [keyA, keyB]) {
    const taken = await withKey("POST", "/v1/operators", { email: "NIA@shop.example", role: "agent" }, key);
    assert.equal(taken.statusCode, 409);
  }
  const readOnly = (await withKey("POST", "/v1/api-keys", { name: "ro", scopes: ["read-only"] })).json().key;
  secrets.add(readOnly);
  assert.equal(
    (await withKey("POST", "/v1/operators", { email: "p@shop.example", role: "viewer" }, readOnly)).statusCode,
    403,
  );
  assert.equal((await withKey("GET", "/v1/operators", undefined, readOnly)).statusCode, 200);
});

test("tenant B's operator gets 404 for tenant A's operators and conversations, and lists none of them", async () => {
  const a = await invite("pat@shop.example", "agent");
  const { id: conversationId } = await conversation();
  const b = await operator("quinn@other.example", "admin", keyB);
  for (const [method, url, payload] of [
    ["GET", `/v1/operators/${a.operator.id}`, undefined],
    ["PATCH", `/v1/operators/${a.operator.id}`, { role: "admin" }],
    ["POST", `/v1/operators/${a.operator.id}/invitation`, undefined],
    ["DELETE", `/v1/operators/${a.operator.id}`, undefined],
    ["GET", `/v1/conversations/${conversationId}`, undefined],
    ["POST", `/v1/conversations/${conversationId}/handoff`, {}],
  ] as const) {
    const response = await as(b, method, url, payload);
    assert.equal(response.statusCode, 404, `${method} ${url}`);
  }
  const listed = (await as(b, "GET", "/v1/operators?limit=200")).json().data;
  assert.deepEqual(
    listed.map((o: { email: string }) => o.email),
    ["quinn@other.example"],
  );
  const row = await t.db.operator.findUniqueOrThrow({ where: { id: a.operator.id } });
  assert.equal(row.role, "agent");
  assert.ok(row.invitationHash === createHash("sha256").update(a.invitation.token).digest("hex"), "not re-issued");
  assert.equal((await t.db.conversation.findUniqueOrThrow({ where: { id: conversationId } })).mode, "bot");
});

test("hostile input: NUL bytes, huge strings, unknown fields, bad roles and cookies are refused with 4xx", async () => {
  const admin = await operator("ray@shop.example", "admin");
  const { id } = admin.operator;
  const bad: [InjectOptions["method"], string, object][] = [
    ["POST", "/v1/operators", { email: "nul\u0000@shop.example", role: "agent" }],
    ["POST", "/v1/operators", { email: "a@shop.example", role: "agent", name: "x\u0000" }],
    ["POST", "/v1/operators", { email: `${"a".repeat(300)}@shop.example`, role: "agent" }],
    ["POST", "/v1/operators", { email: "a@shop.example", role: "owner" }],
    ["POST", "/v1/operators", { email: "not an e-mail", role: "agent" }],
    ["POST", "/v1/operators", { email: "a@shop.example", role: "agent", passwordHash: "x" }],
    ["PATCH", `/v1/operators/${id}`, { tenantId: crypto.randomUUID() }],
    ["PATCH", `/v1/operators/${id}`, { name: "y".repeat(10_000) }],
    ["PATCH", "/v1/operators/not-a-uuid", { name: "y" }],
    ["POST", "/v1/auth/login", { email: "ray@shop.example", password: `${PASSWORD}\u0000` }],
    ["POST", "/v1/auth/login", { email: "ray@shop.example", password: "p".repeat(200_000) }],
    ["POST", "/v1/auth/login", { email: "ray@shop.example", password: PASSWORD, remember: true }],
    ["POST", "/v1/auth/accept-invitation", { token: "t".repeat(43), password: PASSWORD, role: "admin" }],
    ["POST", "/v1/auth/accept-invitation", { token: "t".repeat(10_000), password: PASSWORD }],
  ];
  for (const [method, url, payload] of bad) {
    const response = await as(admin, method, url, payload);
    assert.ok(response.statusCode === 400 || response.statusCode === 413, `${method} ${url}: ${response.statusCode}`);
    assert.ok(response.json().error.code, url);
    assert.ok(!response.body.includes(PASSWORD), "a refusal does not echo the password");
  }
  assert.equal((await t.db.operator.findUniqueOrThrow({ where: { id } })).role, "admin");
  assert.equal(await t.db.operator.count({ where: { email: "a@shop.example" } }), 0);
  for (const cookie of ["garbage", "x".repeat(4000), "%00", admin.token.toUpperCase()]) {
    const response = await app.inject({ url: "/v1/intents", cookies: { cb_session: cookie } });
    assert.equal(response.statusCode, 401, cookie.slice(0, 20));
  }
});

test("passwords, tokens and hashes never appear in a response or a log line", async () => {
  const admin = await operator("sam@shop.example", "admin");
  const bodies = [
    (await as(admin, "GET", "/v1/operators?limit=200")).body,
    (await as(admin, "GET", `/v1/operators/${admin.operator.id}`)).body,
    (await as(admin, "GET", "/v1/auth/session")).body,
  ];
  for (const body of bodies) assert.doesNotMatch(body, /passwordHash|invitationHash|argon2|"token"/);
  const hashes = (await t.db.operator.findMany()).flatMap((o) => [o.passwordHash, o.invitationHash]);
  const logged = logs.text();
  assert.ok(logged.includes("/v1/auth/login"), "requests were logged");
  for (const secret of [...secrets, ...hashes.filter((h): h is string => h !== null)])
    assert.ok(!logged.includes(secret), `a secret was logged: ${secret.slice(0, 6)}…`);
});
