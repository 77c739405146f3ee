import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { transaction } from "@cb/db";
import {
  agentReplyRule,
  endHandoff,
  handleMessage,
  HANDOFF_IDLE,
  queueAgentMessage,
  requestHandoff,
  returnIdleHandoff,
  sendAgentMessage,
  type TurnDeps,
  type Understanding,
} from "../src/index.ts";
import { setUpTurns, type Setup, type TurnSetup } from "./support.ts";

let turns: TurnSetup;
let s: Setup;
let deps: TurnDeps;
let understanding: Understanding;
let understood = 0;
const WAITING = "One moment, a person will answer you.";

before(async () => {
  turns = await setUpTurns(async () => {
    understood++;
    return understanding;
  });
  ({ s, deps } = turns);
  turns.answers.set("desk", () => ({
    body: { fulfillmentText: "Let me find someone.", payload: { handoff: true } },
  }));
  await s.t.db.tenant.update({
    where: { id: s.tenantId },
    data: { handoffSettings: { waitingMessage: WAITING, fallbackLimit: 2, idleMinutes: 10 } },
  });
  await s.t.db.eventSubscription.create({
    data: { tenantId: s.tenantId, url: "https://example.com/events", eventTypes: ["*"], secrets: "sealed" },
  });
  await s.t.db.intent.createMany({
    data: [
      { tenantId: s.tenantId, name: "greeting", examples: [], responses: [{ type: "text", text: "Hello!" }] },
      {
        tenantId: s.tenantId,
        name: "human",
        examples: [],
        handoff: true,
        responses: [{ type: "text", text: "Connecting you." }],
      },
      { tenantId: s.tenantId, name: "desk", examples: [], fulfillmentEndpointId: turns.endpointId },
      {
        tenantId: s.tenantId,
        name: "fallback",
        examples: [],
        isFallback: true,
        responses: [{ type: "text", text: "Sorry?" }],
      },
    ],
  });
});
after(() => turns.close());

const says = (intent: string): Understanding => ({
  intent,
  confidence: 0.9,
  parameters: {},
  allRequiredParamsPresent: true,
  contexts: [],
  state: {},
});
/** Messenger: no per-chat rate limit to wait on. */
const turn = async (chat: string, intent: string, text = "…") => {
  understanding = says(intent);
  return handleMessage(deps, await s.receive({ channel: "messenger", chat, text }));
};
const sentTo = (chat: string) =>
  s.graph.calls.filter((c) => c.body.recipient?.id === chat).map((c) => c.body.message.text);
const conversationOf = (chat: string) => s.t.db.conversation.findFirstOrThrow({ where: { externalId: chat } });
async function handoffEvents(chat: string) {
  const { id } = await conversationOf(chat);
  const events = await s.t.db.event.findMany({
    where: { type: { startsWith: "handoff." }, data: { path: ["conversationId"], equals: id } },
    orderBy: { createdAt: "asc" },
  });
  return events.map((e) => ({ type: e.type, data: e.data as Record<string, unknown> }));
}

test("a handoff intent: the bot's answer, then pending with one waiting notice; after that the bot stays silent", async () => {
  assert.deepEqual(await turn("701", "human"), { intent: "human", replies: 2 });
  assert.deepEqual(sentTo("701"), ["Connecting you.", WAITING]);
  const c = await conversationOf("701");
  assert.equal(c.mode, "pending");
  assert.equal(c.handoffReason, "intent");
  const events = await handoffEvents("701");
  assert.deepEqual(
    events.map((e) => [e.type, e.data.reason, e.data.handoffId]),
    [["handoff.requested", "intent", c.handoffId]],
  );

  const before = understood;
  const since = c.handoffActivityAt!;
  for (const text of ["hello?", "anyone there?"]) {
    assert.deepEqual(await turn("701", "greeting", text), { replies: 0, skipped: "with an agent" });
  }
  assert.equal(understood, before, "nothing is understood while waiting for an agent");
  assert.ok(
    (await conversationOf("701")).handoffActivityAt! > since,
    "the customer's messages keep it from going idle",
  );
  assert.deepEqual(sentTo("701"), ["Connecting you.", WAITING], "the notice once, no bot answers");
  const inbound = await s.t.db.message.findMany({ where: { conversationId: c.id, direction: "in" } });
  assert.equal(inbound.length, 3, "every message is stored");
  assert.ok(inbound.every((m) => m.status === "processed"));
  assert.equal(
    inbound.filter((m) => (m.turn as { skipped?: string }).skipped === "with an agent").length,
    2,
    "and recorded as skipped with an agent",
  );
  const received = await s.t.db.event.count({
    where: { type: "message.received", data: { path: ["conversationId"], equals: c.id } },
  });
  assert.equal(received, 3, "a helpdesk still hears every customer message");
  assert.equal((await handoffEvents("701")).length, 1);
});

test("a fulfillment answer with payload.handoff: its reply, then pending", async () => {
  assert.deepEqual(await turn("702", "desk"), { intent: "desk", replies: 2 });
  assert.deepEqual(sentTo("702"), ["Let me find someone.", WAITING]);
  assert.equal((await conversationOf("702")).mode, "pending");
  const [requested] = await handoffEvents("702");
  assert.equal(requested?.data.reason, "fulfillment");
  const inbound = await s.t.db.message.findFirstOrThrow({
    where: { conversationId: (await conversationOf("702")).id, direction: "in" },
  });
  assert.equal((inbound.turn as { handoff?: string }).handoff, "fulfillment");
});

test("the fallback the tenant's number of times in a row hands over; another intent in between starts the count again", async () => {
  await turn("703", "fallback");
  await turn("703", "greeting");
  await turn("703", "fallback");
  assert.equal((await conversationOf("703")).mode, "bot", "never twice in a row yet");
  assert.deepEqual(await turn("703", "fallback"), { intent: "fallback", replies: 2 });
  assert.equal((await conversationOf("703")).mode, "pending");
  assert.deepEqual(sentTo("703"), ["Sorry?", "Hello!", "Sorry?", "Sorry?", WAITING]);
  assert.equal((await handoffEvents("703"))[0]?.data.reason, "fallback");

  // Back with the bot, the count starts from nothing.
  const { id } = await conversationOf("703");
  await transaction(s.t.pool, (sql) => endHandoff(sql, { conversationId: id, reason: "agent" }));
  assert.deepEqual(await turn("703", "fallback"), { intent: "fallback", replies: 1 });
  assert.equal((await conversationOf("703")).mode, "bot");
});

test("an operator takes over and assigns; the agent ends it and the bot answers the next message; events once each", async () => {
  await turn("704", "greeting");
  const { id } = await conversationOf("704");
  const request = () =>
    transaction(s.t.pool, (sql) =>
      requestHandoff(sql, { conversationId: id, tenantId: s.tenantId, reason: "operator" }),
    );
  const pending = await request();
  assert.equal(pending?.mode, "pending");
  assert.deepEqual(await request(), pending, "asked again, nothing changes");
  const other = await s.t.db.tenant.create({ data: { name: "Other" } });
  assert.equal(
    await transaction(s.t.pool, (sql) =>
      requestHandoff(sql, { conversationId: id, tenantId: other.id, reason: "operator" }),
    ),
    null,
    "another tenant finds no such conversation",
  );
  const assign = (assignee: string) =>
    transaction(s.t.pool, (sql) => requestHandoff(sql, { conversationId: id, reason: "operator", assignee }));
  assert.deepEqual(await assign("ada@shop.example"), {
    mode: "human",
    assignee: "ada@shop.example",
    handoffId: pending?.handoffId,
  });
  await assign("ada@shop.example");

  assert.deepEqual(await turn("704", "greeting", "hi?"), { replies: 1, skipped: "with an agent" });
  assert.deepEqual(sentTo("704"), ["Hello!", WAITING]);

  const end = () => transaction(s.t.pool, (sql) => endHandoff(sql, { conversationId: id, reason: "agent" }));
  assert.equal((await end())?.mode, "bot");
  await end();
  assert.deepEqual(await turn("704", "greeting"), { intent: "greeting", replies: 1 });
  assert.deepEqual(sentTo("704"), ["Hello!", WAITING, "Hello!"]);
  assert.deepEqual(
    (await handoffEvents("704")).map((e) => [e.type, e.data.reason ?? e.data.assignee]),
    [
      ["handoff.requested", "operator"],
      ["handoff.assigned", "ada@shop.example"],
      ["handoff.ended", "agent"],
    ],
  );

  // A new handoff has a new id, and so a waiting notice of its own.
  await request();
  await turn("704", "greeting", "me again");
  assert.deepEqual(sentTo("704"), ["Hello!", WAITING, "Hello!", WAITING]);
});

test("idle: the job comes back while the handoff is active, ends it once the idle time passed, and does nothing after", async () => {
  await turn("705", "human");
  const c = await conversationOf("705");
  const jobs = async () =>
    s.t.db.$queryRawUnsafe<{ run_at: Date; queue_name: string }[]>(
      `SELECT j.run_at, q.queue_name FROM graphile_worker._private_jobs j
         JOIN graphile_worker._private_tasks t ON t.id = j.task_id
         LEFT JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id
       WHERE t.identifier = $1 AND j.key = $2`,
      HANDOFF_IDLE,
      `${HANDOFF_IDLE}:${c.id}`,
    );
  const [scheduled] = await jobs();
  assert.equal(scheduled?.queue_name, `conversation:${c.id}`);
  const tenMinutes = 10 * 60_000;
  assert.ok(Math.abs(scheduled!.run_at.getTime() - (c.handoffActivityAt!.getTime() + tenMinutes)) < 2000);

  const payload = { conversationId: c.id, handoffId: c.handoffId! };
  const early = new Date(c.handoffActivityAt!.getTime() + tenMinutes / 2);
  await returnIdleHandoff(s.t.pool, payload, () => early);
  assert.equal((await conversationOf("705")).mode, "pending", "not idle long enough");
  assert.equal((await jobs()).length, 1, "comes back later");

  const late = () => new Date(Date.now() + tenMinutes + 1000);
  await returnIdleHandoff(s.t.pool, { ...payload, handoffId: "00000000-0000-4000-8000-000000000000" }, late);
  assert.equal((await conversationOf("705")).mode, "pending", "another handoff's job leaves this one alone");
  await returnIdleHandoff(s.t.pool, payload, late);
  await returnIdleHandoff(s.t.pool, payload, late);
  assert.equal((await conversationOf("705")).mode, "bot");
  assert.deepEqual(
    (await handoffEvents("705")).map((e) => [e.type, e.data.reason]),
    [
      ["handoff.requested", "intent"],
      ["handoff.ended", "idle"],
    ],
  );
  assert.deepEqual(await turn("705", "greeting"), { intent: "greeting", replies: 1 });
});

test("an agent's reply goes out like the bot's: to Telegram; on Messenger tagged HUMAN_AGENT; refused after the platform's window", async () => {
  const telegramTurn = async (chat: string) => {
    understanding = says("human");
    return handleMessage(deps, await s.receive({ chat, text: "a person please" }));
  };
  await telegramTurn("706");
  const c = await conversationOf("706");
  const queue = (key: string, text: string) =>
    transaction(s.t.pool, (sql) =>
      queueAgentMessage(sql, {
        tenantId: s.tenantId,
        channelAccountId: c.channelAccountId,
        conversationId: c.id,
        key,
        reply: { type: "text", text },
      }),
    );
  const id = await queue("k1", "Hi, I'm Ada from support.");
  assert.equal(await queue("k1", "Hi, I'm Ada from support."), id, "the same key, the same message");
  await sendAgentMessage(deps, id);
  await sendAgentMessage(deps, id);
  const sent = s.telegram.calls.filter(
    (call) => call.method === "sendMessage" && call.params.text === "Hi, I'm Ada from support.",
  );
  assert.equal(sent.length, 1);
  assert.equal(String(sent[0]?.params.chat_id), "706");
  const row = await s.t.db.message.findUniqueOrThrow({ where: { id } });
  assert.equal(row.status, "sent");
  assert.equal(row.platformMessageId, String((sent[0]!.result as { message_id: number }).message_id));

  await turn("707", "human");
  const m = await conversationOf("707");
  const reply = async (text: string) => {
    const messageId = await transaction(s.t.pool, (sql) =>
      queueAgentMessage(sql, {
        tenantId: s.tenantId,
        channelAccountId: m.channelAccountId,
        conversationId: m.id,
        key: text,
        reply: { type: "text", text },
      }),
    );
    await sendAgentMessage(deps, messageId);
    return s.t.db.message.findUniqueOrThrow({ where: { id: messageId } });
  };
  assert.equal((await reply("Ada here.")).status, "sent");
  const call = s.graph.calls.find((c) => c.body.message?.text === "Ada here.");
  assert.equal(call?.body.messaging_type, "MESSAGE_TAG");
  assert.equal(call?.body.tag, "HUMAN_AGENT");

  await s.t.db.conversation.update({
    where: { id: m.id },
    data: { lastInboundAt: new Date(Date.now() - 8 * 24 * 3600_000) },
  });
  const late = await reply("Still there?");
  assert.equal(late.status, "failed");
  assert.equal((late.error as { code: string }).code, "platform_rule");
  assert.equal(
    s.graph.calls.filter((c) => c.body.message?.text === "Still there?").length,
    0,
    "never reaches the platform",
  );
});

test("platform rules for agents: WhatsApp needs a template after 24 hours; templates are WhatsApp's", () => {
  const now = new Date("2026-12-06T12:00:00Z");
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3600_000);
  const text = { type: "text" as const, text: "hi" };
  const template = { type: "template" as const, name: "follow_up", language: "en" };
  assert.deepEqual(agentReplyRule("whatsapp", hoursAgo(23), text, now), { ok: true });
  assert.equal(agentReplyRule("whatsapp", hoursAgo(25), text, now).ok, false);
  assert.equal(agentReplyRule("whatsapp", null, text, now).ok, false);
  assert.deepEqual(agentReplyRule("whatsapp", hoursAgo(25), template, now), { ok: true });
  assert.equal(agentReplyRule("telegram", hoursAgo(1), template, now).ok, false);
  assert.deepEqual(agentReplyRule("telegram", hoursAgo(1000), text, now), { ok: true });
  assert.deepEqual(agentReplyRule("messenger", hoursAgo(6 * 24), text, now), { ok: true, messageTag: "HUMAN_AGENT" });
  assert.equal(agentReplyRule("messenger", hoursAgo(7 * 24), text, now).ok, false);
});
