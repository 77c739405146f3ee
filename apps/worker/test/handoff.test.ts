import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { newKey } from "@cb/admin-api";
import { sleep, startStack, textUpdate, type Stack } from "./support.ts";

// Human handoff through the whole system: Telegram updates posted to the web role's webhook, the
// worker's turns and jobs, the admin API, and the strict Bot API stand-in. (The routes' validation,
// events and tenant isolation: apps/server/test/handoff-api.test.ts.)
let stack: Stack;
let keyA: string;
const WAITING = "Hold on, a person from our team will answer you here.";
const CHAT = 801;

before(async () => {
  stack = await startStack();
  const key = newKey();
  await stack.t.db.apiKey.create({
    data: {
      id: key.id,
      tenantId: stack.tenantId,
      name: "test",
      scopes: ["admin"],
      secretHash: key.hash,
      hint: key.secret.slice(-4),
    },
  });
  keyA = key.key;
  await stack.t.db.eventSubscription.create({
    data: {
      tenantId: stack.tenantId,
      url: "http://127.0.0.1:9/events",
      eventTypes: ["handoff.requested", "handoff.assigned", "handoff.ended"],
      secrets: stack.sealer.sealJson({ signingSecrets: [`whsec_${Buffer.from("k".repeat(32)).toString("base64")}`] }),
    },
  });
});
after(async () => {
  await stack.close();
});

const api = (method: "GET" | "POST" | "PATCH", url: string, payload?: object, key = keyA) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });
const sentTo = (chat: number) =>
  stack.telegram.calls
    .filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === String(chat))
    .map((c) => c.params.text);
const waitForText = (chat: number, text: string) =>
  stack.telegram.waitFor(
    (c) => c.method === "sendMessage" && String(c.params.chat_id) === String(chat) && c.params.text === text,
  );
async function processed(count: number, chat = CHAT) {
  for (let i = 0; i < 200; i++) {
    const n = await stack.t.db.message.count({
      where: { direction: "in", status: "processed", conversation: { externalId: String(chat) } },
    });
    if (n >= count) return;
    await sleep(50);
  }
  throw new Error(`fewer than ${count} messages processed`);
}

test("an intent marked as a handoff intent and the tenant's settings, through the admin API", async () => {
  const greeting = await api("POST", "/v1/intents", {
    name: "greeting",
    examples: ["hello", "hi there", "good morning"],
    responses: [{ type: "text", text: "Hello! How can I help?" }],
  });
  assert.equal(greeting.statusCode, 201);
  assert.equal(greeting.json().handoff, false);
  const human = await api("POST", "/v1/intents", {
    name: "agent.request",
    examples: ["talk to a human", "I want a real person", "speak to an agent", "connect me to your staff"],
    responses: [{ type: "text", text: "Connecting you to a person." }],
    handoff: true,
  });
  assert.equal(human.statusCode, 201);
  assert.equal(human.json().handoff, true);
  const patched = await api("PATCH", "/v1/tenant", { handoffSettings: { waitingMessage: WAITING, idleMinutes: 30 } });
  assert.equal(patched.statusCode, 200);
  assert.deepEqual(patched.json().handoffSettings, { waitingMessage: WAITING, idleMinutes: 30 });
  const bad = await api("PATCH", "/v1/tenant", { handoffSettings: { idleMinutes: 0, typo: 1 } });
  assert.equal(bad.statusCode, 400);
});

test("handoff: pending on the intent, the bot silent, an agent's reply reaches Telegram, ended, and the bot answers again", async () => {
  assert.equal(await stack.post(textUpdate("hello", CHAT)), 200);
  await waitForText(CHAT, "Hello! How can I help?");
  assert.equal(await stack.post(textUpdate("I want to talk to a human", CHAT)), 200);
  await waitForText(CHAT, WAITING);
  assert.deepEqual(sentTo(CHAT), ["Hello! How can I help?", "Connecting you to a person.", WAITING]);

  const { id } = await stack.t.db.conversation.findFirstOrThrow({ where: { externalId: String(CHAT) } });
  const got = (await api("GET", `/v1/conversations/${id}`)).json();
  assert.equal(got.mode, "pending");
  assert.equal(got.handoff.reason, "intent");
  assert.deepEqual(
    (await api("GET", "/v1/conversations?mode=pending")).json().data.map((c: { id: string }) => c.id),
    [id],
  );

  // Waiting for an agent: stored, not answered, no second notice.
  assert.equal(await stack.post(textUpdate("hello", CHAT)), 200);
  await processed(3);
  await sleep(300);
  assert.equal(sentTo(CHAT).length, 3);
  const turns = (await api("GET", `/v1/conversations/${id}/messages?limit=100`))
    .json()
    .data.filter((m: { direction: string }) => m.direction === "in")
    .map((m: { turn: { intent?: string; handoff?: string; skipped?: string } }) => m.turn);
  assert.deepEqual(
    turns
      .map((turn: { intent?: string; handoff?: string; skipped?: string }) => [turn.intent, turn.handoff, turn.skipped])
      .sort(),
    [
      ["agent.request", "intent", undefined],
      ["greeting", undefined, undefined],
      [undefined, undefined, "with an agent"],
    ].sort(),
    "the admin API shows why the bot went quiet",
  );

  const early = await api("POST", `/v1/conversations/${id}/messages`, { reply: { type: "text", text: "x" }, extra: 1 });
  assert.equal(early.statusCode, 400, "unknown fields are refused");
  const assigned = await api("POST", `/v1/conversations/${id}/handoff`, { assignee: "ada@shop.example" });
  assert.equal(assigned.statusCode, 200);
  assert.equal(assigned.json().mode, "human");
  assert.equal(assigned.json().assignee, "ada@shop.example");

  const sent = await api("POST", `/v1/conversations/${id}/messages`, {
    reply: { type: "text", text: "Hi, Ada here. How can I help?" },
  });
  assert.equal(sent.statusCode, 202);
  assert.equal(sent.json().direction, "out");
  const call = await waitForText(CHAT, "Hi, Ada here. How can I help?");
  assert.equal(String(call.params.chat_id), String(CHAT));
  await sleep(200);
  const row = await stack.t.db.message.findUniqueOrThrow({ where: { id: sent.json().id } });
  assert.equal(row.status, "sent");

  const ended = await api("POST", `/v1/conversations/${id}/handoff/end`);
  assert.equal(ended.statusCode, 200);
  assert.equal(ended.json().mode, "bot");
  assert.equal(ended.json().handoff, null);
  const refused = await api("POST", `/v1/conversations/${id}/messages`, { reply: { type: "text", text: "x" } });
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.json().error.code, "not_in_handoff");

  assert.equal(await stack.post(textUpdate("good morning", CHAT)), 200);
  await stack.telegram.waitFor(
    (c) =>
      String(c.params.chat_id) === String(CHAT) &&
      sentTo(CHAT).filter((t) => t === "Hello! How can I help?").length === 2,
  );
  const events = await stack.t.db.event.findMany({
    where: { type: { startsWith: "handoff." }, data: { path: ["conversationId"], equals: id } },
    orderBy: { createdAt: "asc" },
  });
  assert.deepEqual(
    events.map((e) => e.type),
    ["handoff.requested", "handoff.assigned", "handoff.ended"],
  );
});

test("the worker returns an idle handoff to the bot", async () => {
  const chat = 802;
  assert.equal(await stack.post(textUpdate("speak to an agent", chat)), 200);
  await waitForText(chat, WAITING);
  const c = await stack.t.db.conversation.findFirstOrThrow({ where: { externalId: String(chat) } });
  assert.equal(c.mode, "pending");
  // Thirty minutes pass without a word.
  await stack.t.db.conversation.update({
    where: { id: c.id },
    data: { handoffActivityAt: new Date(Date.now() - 31 * 60_000) },
  });
  await stack.t.db.$executeRawUnsafe(
    `UPDATE graphile_worker._private_jobs SET run_at = now() WHERE key = $1`,
    `handoff-idle:${c.id}`,
  );
  for (
    let i = 0;
    i < 200 && (await stack.t.db.conversation.findUniqueOrThrow({ where: { id: c.id } })).mode !== "bot";
    i++
  )
    await sleep(50);
  assert.equal((await stack.t.db.conversation.findUniqueOrThrow({ where: { id: c.id } })).mode, "bot");
  const ended = await stack.t.db.event.findMany({
    where: { type: "handoff.ended", data: { path: ["conversationId"], equals: c.id } },
  });
  assert.deepEqual(
    ended.map((e) => (e.data as { reason: string }).reason),
    ["idle"],
  );
});
