import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { HttpError } from "@cb/core";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import type { FastifyRequest } from "fastify";
import { checkRequired } from "../src/channels.ts";
import { baseUrl, hint, notFound, requireScope, tenantOf } from "../src/context.ts";
import { unique } from "../src/errors.ts";
import type { Scope } from "../src/keys.ts";

let t: TestDatabase;

before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t.drop();
});

const isHttp = (status: number, code: string, message?: RegExp) => (err: unknown) =>
  err instanceof HttpError && err.statusCode === status && err.code === code && (!message || message.test(err.message));

test("a write that breaks a unique constraint is a 409 with the caller's message; other failures pass through", async () => {
  const tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  const create = () => t.db.intent.create({ data: { tenantId, name: "greeting", examples: [] } });
  const first = await unique(create, "an intent of that name exists");
  assert.equal(first.name, "greeting", "the write's result");
  await assert.rejects(
    unique(create, "an intent of that name exists"),
    isHttp(409, "conflict", /^an intent of that name exists$/),
  );
  const other = new Error("connection lost");
  await assert.rejects(
    unique(() => Promise.reject(other), "x"),
    (err) => err === other,
  );
  await assert.rejects(
    unique(
      () => t.db.intent.create({ data: { tenantId: "00000000-0000-4000-8000-000000000000", name: "x", examples: [] } }),
      "x",
    ),
    (err: unknown) => !(err instanceof HttpError) && (err as { code?: string }).code === "P2003",
    "a foreign key violation is not a conflict",
  );
});

test("access: admin keys and operators may do anything, agents read and act on conversations, read-only keys and viewers read, events keys nothing", () => {
  const as = (scopes?: Scope[]) =>
    ({ principal: scopes ? { tenantId: "t1", keyId: "k", scopes } : undefined }) as unknown as FastifyRequest;
  const operator = (role: string) =>
    ({
      principal: { tenantId: "t1", operator: { id: "o", email: "o@x.example", role }, session: {} },
    }) as unknown as FastifyRequest;
  const allowed = (request: FastifyRequest) =>
    (["read", "agent", "admin"] as const).filter((access) => {
      try {
        requireScope(request, access);
        return true;
      } catch (err) {
        assert.ok(isHttp(403, "forbidden")(err));
        return false;
      }
    });
  assert.deepEqual(allowed(as(["admin"])), ["read", "agent", "admin"]);
  assert.deepEqual(allowed(as(["read-only"])), ["read"]);
  assert.deepEqual(allowed(as(["events", "read-only"])), ["read"]);
  assert.deepEqual(allowed(as(["events"])), []);
  assert.deepEqual(allowed(as()), []);
  assert.deepEqual(allowed(operator("admin")), ["read", "agent", "admin"]);
  assert.deepEqual(allowed(operator("agent")), ["read", "agent"]);
  assert.deepEqual(allowed(operator("viewer")), ["read"]);
  // The older spelling: false reads, true is admin.
  requireScope(as(["read-only"]), false);
  assert.throws(() => requireScope(as(["read-only"]), true), isHttp(403, "forbidden", /needs an admin/));
  assert.throws(() => requireScope(operator("agent"), true), isHttp(403, "forbidden", /needs an admin/));
  assert.throws(
    () => requireScope(operator("viewer"), "agent"),
    isHttp(403, "forbidden", /needs an agent or an admin/),
  );
  assert.throws(() => requireScope(as(["events"]), false), isHttp(403, "forbidden", /may not read the admin API/));
  assert.equal(tenantOf(as(["events"])), "t1");
  assert.equal(tenantOf(operator("viewer")), "t1");
  assert.throws(() => tenantOf(as()), isHttp(401, "unauthenticated", /an API key or a signed-in operator is required/));
  assert.ok(isHttp(404, "not_found", /^no such intent$/)(notFound("intent")));
});

test("webhook URLs are built on the public base URL when set, else on the request's own", () => {
  const request = { protocol: "http", host: "127.0.0.1:3000" } as FastifyRequest;
  const options = { db: t.db, sealer: {} as never, channelEnv: {} };
  assert.equal(baseUrl({ ...options, publicBaseUrl: "https://bot.example.com/" }, request), "https://bot.example.com");
  assert.equal(baseUrl({ ...options, publicBaseUrl: "https://bot.example.com" }, request), "https://bot.example.com");
  assert.equal(baseUrl(options, request), "http://127.0.0.1:3000");
  assert.equal(hint("EAAG-very-secret-a1b2"), "…a1b2");
});

test("each channel's required credentials and config, all missing ones named", () => {
  checkRequired("telegram", { botToken: "1:x" }, {});
  checkRequired("whatsapp", { accessToken: "a", appSecret: "s" }, { phoneNumberId: "1" });
  assert.throws(
    () => checkRequired("whatsapp", { accessToken: "a", appSecret: "" }, { phoneNumberId: "" }),
    (err: unknown) =>
      isHttp(400, "validation_failed")(err) &&
      (err as HttpError).message === "a whatsapp account needs credentials.appSecret, config.phoneNumberId" &&
      JSON.stringify((err as HttpError).details) ===
        JSON.stringify({ missing: ["credentials.appSecret", "config.phoneNumberId"] }),
  );
  assert.throws(() => checkRequired("messenger", { pageAccessToken: "p", appSecret: "s" }, {}), /config\.pageId/);
  checkRequired("messenger", { pageAccessToken: "p", appSecret: "s" }, { pageId: 0 });
  assert.throws(() => checkRequired("slack", { botToken: "xoxb" }, {}), /needs credentials\.signingSecret$/);
  assert.throws(() => checkRequired("telegram", {}, {}), /needs credentials\.botToken$/);
});
