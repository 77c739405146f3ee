import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { TestDatabase } from "@cb/db/testing";
import type { FastifyInstance } from "fastify";
import { startAdminServer, type AdminServer } from "./support.ts";

// The handoff routes of the admin API on their own (no worker): state, events, validation,
// the platforms' rules and tenant isolation. apps/worker/test/handoff.test.ts runs them end to end.
let server: AdminServer;
let t: TestDatabase;
let app: FastifyInstance;
let keyA: string;
let keyB: string;
let tenantA: string;
let telegramAccount: string;
let whatsappAccount: string;

before(async () => {
  server = await startAdminServer();
  ({ t, app } = server);
  ({ tenantId: tenantA, key: keyA } = await server.tenant("Acme"));
  keyB = (await server.tenant("Other")).key;
  const account = (channel: string) =>
    t.db.channelAccount.create({
      data: { tenantId: tenantA, channel, name: channel, secrets: server.sealer.sealJson({}) },
    });
  telegramAccount = (await account("telegram")).id;
  whatsappAccount = (await account("whatsapp")).id;
  await t.db.eventSubscription.create({
    data: { tenantId: tenantA, url: "https://example.com/events", eventTypes: ["*"], secrets: "sealed" },
  });
});
after(() => server.close());

let nextChat = 1;
const conversation = (channelAccountId = telegramAccount, lastInboundAt: Date | null = new Date()) =>
  t.db.conversation.create({
    data: { tenantId: tenantA, channelAccountId, externalId: String(nextChat++), lastInboundAt },
  });
const post = (url: string, payload?: object, key = keyA) =>
  app.inject({ method: "POST", url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });
const handoffEvents = async (conversationId: string) =>
  (
    await t.db.event.findMany({
      where: { type: { startsWith: "handoff." }, data: { path: ["conversationId"], equals: conversationId } },
      orderBy: { createdAt: "asc" },
    })
  ).map((e) => ({ type: e.type, ...(e.data as Record<string, unknown>) }) as Record<string, unknown>);

test("an operator takes over, assigns, reassigns and gives back: each change one event, repeats none", async () => {
  const { id } = await conversation();
  const requested = await post(`/v1/conversations/${id}/handoff`, {});
  assert.equal(requested.statusCode, 200);
  const body = requested.json();
  assert.equal(body.mode, "pending");
  assert.equal(body.assignee, null);
  assert.equal(body.handoff.reason, "operator");
  assert.deepEqual((await post(`/v1/conversations/${id}/handoff`, {})).json(), body, "asked again: unchanged");

  assert.equal((await post(`/v1/conversations/${id}/handoff`, { assignee: "ada@shop.example" })).json().mode, "human");
  await post(`/v1/conversations/${id}/handoff`, { assignee: "ada@shop.example" });
  const reassigned = (await post(`/v1/conversations/${id}/handoff`, { assignee: "bob@shop.example" })).json();
  assert.equal(reassigned.assignee, "bob@shop.example");
  assert.equal(reassigned.handoff.id, body.handoff.id, "the same handoff");

  const ended = await post(`/v1/conversations/${id}/handoff/end`);
  assert.equal(ended.statusCode, 200);
  assert.equal(ended.json().mode, "bot");
  assert.equal(ended.json().assignee, null);
  assert.equal(ended.json().handoff, null);
  assert.equal((await post(`/v1/conversations/${id}/handoff/end`)).statusCode, 200, "ending again is a no-op");

  const handoffId = body.handoff.id;
  const account = { conversationId: id, channelAccountId: telegramAccount, channel: "telegram", handoffId };
  assert.deepEqual(await handoffEvents(id), [
    { type: "handoff.requested", ...account, reason: "operator" },
    { type: "handoff.assigned", ...account, assignee: "ada@shop.example", previousAssignee: null },
    { type: "handoff.assigned", ...account, assignee: "bob@shop.example", previousAssignee: "ada@shop.example" },
    { type: "handoff.ended", ...account, reason: "agent", assignee: "bob@shop.example" },
  ]);
});

test("taking over with an assignee at once: human, requested and assigned", async () => {
  const { id } = await conversation();
  const response = (await post(`/v1/conversations/${id}/handoff`, { assignee: "ada" })).json();
  assert.equal(response.mode, "human");
  assert.deepEqual(
    // One statement records both: the same time, in no set order.
    (await handoffEvents(id)).map((e) => [e.type, e.assignee]).sort(),
    [
      ["handoff.assigned", "ada"],
      ["handoff.requested", undefined],
    ],
  );
});

test("an agent's message: stored pending and queued in the conversation's queue; refused while the bot has it", async () => {
  const { id } = await conversation();
  const early = await post(`/v1/conversations/${id}/messages`, { reply: { type: "text", text: "Hi" } });
  assert.equal(early.statusCode, 409);
  assert.equal(early.json().error.code, "not_in_handoff");

  await post(`/v1/conversations/${id}/handoff`, { assignee: "ada" });
  for (const payload of [
    { reply: { type: "text", text: "Hi" }, extra: true },
    { reply: { type: "text", text: "" } },
    { reply: { type: "cards", cards: [] } },
    { reply: { type: "text", text: "Hi", quickReplies: [] } },
    { reply: { type: "text", text: "Hi" }, idempotencyKey: "has spaces" },
    {},
  ]) {
    const response = await post(`/v1/conversations/${id}/messages`, payload);
    assert.equal(response.statusCode, 400, JSON.stringify(payload));
    assert.equal(response.json().error.code, "validation_failed");
  }
  assert.equal(await t.db.message.count({ where: { conversationId: id } }), 0);

  const before = (await t.db.conversation.findUniqueOrThrow({ where: { id } })).handoffActivityAt!;
  const sent = await post(`/v1/conversations/${id}/messages`, {
    reply: { type: "text", text: "Hi, Ada here." },
    idempotencyKey: "reply-1",
  });
  assert.equal(sent.statusCode, 202);
  assert.deepEqual(
    { direction: sent.json().direction, status: sent.json().status, content: sent.json().content },
    { direction: "out", status: "pending", content: { type: "text", text: "Hi, Ada here." } },
  );
  const again = await post(`/v1/conversations/${id}/messages`, {
    reply: { type: "text", text: "Hi, Ada here." },
    idempotencyKey: "reply-1",
  });
  assert.equal(again.json().id, sent.json().id, "the same key, the same message");
  const jobs = await t.db.$queryRawUnsafe<{ queue_name: string; payload: { messageId: string } }[]>(
    `SELECT q.queue_name, j.payload FROM graphile_worker._private_jobs j
       JOIN graphile_worker._private_tasks t ON t.id = j.task_id
       LEFT JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id
     WHERE t.identifier = 'send-agent-message'`,
  );
  assert.deepEqual(jobs, [{ queue_name: `conversation:${id}`, payload: { messageId: sent.json().id } }]);
  const after = (await t.db.conversation.findUniqueOrThrow({ where: { id } })).handoffActivityAt!;
  assert.ok(after > before, "an agent's message keeps the handoff from going idle");
});

test("the platforms' rules: WhatsApp after 24 hours takes only a template; templates are WhatsApp's", async () => {
  const wa = await conversation(whatsappAccount, new Date(Date.now() - 30 * 3600_000));
  await post(`/v1/conversations/${wa.id}/handoff`, {});
  const text = await post(`/v1/conversations/${wa.id}/messages`, { reply: { type: "text", text: "hi" } });
  assert.equal(text.statusCode, 409);
  assert.equal(text.json().error.code, "platform_rule");
  const template = { type: "template", name: "agent_follow_up", language: "en" };
  assert.equal((await post(`/v1/conversations/${wa.id}/messages`, { reply: template })).statusCode, 202);

  const tg = await conversation();
  await post(`/v1/conversations/${tg.id}/handoff`, {});
  const onTelegram = await post(`/v1/conversations/${tg.id}/messages`, { reply: template });
  assert.equal(onTelegram.statusCode, 409);
  assert.equal(onTelegram.json().error.code, "platform_rule");
});

test("tenant B's key gets 404 on A's conversations on every handoff route, and changes nothing", async () => {
  const { id } = await conversation();
  for (const [url, payload] of [
    [`/v1/conversations/${id}/handoff`, {}],
    [`/v1/conversations/${id}/handoff`, { assignee: "mallory" }],
    [`/v1/conversations/${id}/handoff/end`, undefined],
    [`/v1/conversations/${id}/messages`, { reply: { type: "text", text: "hi" } }],
  ] as const) {
    const response = await post(url, payload, keyB);
    assert.equal(response.statusCode, 404, url);
    assert.equal(response.json().error.code, "not_found");
  }
  const listed = await app.inject({
    url: "/v1/conversations?mode=bot",
    headers: { authorization: `Bearer ${keyB}` },
  });
  assert.deepEqual(listed.json().data, []);
  const c = await t.db.conversation.findUniqueOrThrow({ where: { id } });
  assert.equal(c.mode, "bot");
  assert.equal(await t.db.message.count({ where: { conversationId: id } }), 0);
  assert.deepEqual(await handoffEvents(id), []);
});

test("a read-only key may look but not take over, end or answer", async () => {
  const { id } = await conversation();
  const created = await post("/v1/api-keys", { name: "viewer", scopes: ["read-only"] });
  const viewer = created.json().key;
  for (const [url, payload] of [
    [`/v1/conversations/${id}/handoff`, {}],
    [`/v1/conversations/${id}/handoff/end`, undefined],
    [`/v1/conversations/${id}/messages`, { reply: { type: "text", text: "hi" } }],
  ] as const) {
    assert.equal((await post(url, payload, viewer)).statusCode, 403, url);
  }
  const read = await app.inject({ url: `/v1/conversations/${id}`, headers: { authorization: `Bearer ${viewer}` } });
  assert.equal(read.json().mode, "bot");
});

test("conversations are listed by mode", async () => {
  const waiting = await conversation();
  await post(`/v1/conversations/${waiting.id}/handoff`, {});
  const list = (mode: string) =>
    app.inject({ url: `/v1/conversations?mode=${mode}&limit=100`, headers: { authorization: `Bearer ${keyA}` } });
  const pending = (await list("pending")).json().data.map((c: { id: string }) => c.id);
  assert.ok(pending.includes(waiting.id));
  assert.ok((await list("pending")).json().data.every((c: { mode: string }) => c.mode === "pending"));
  assert.ok(!(await list("bot")).json().data.some((c: { id: string }) => c.id === waiting.id));
  assert.equal((await list("asleep")).statusCode, 400);
});
