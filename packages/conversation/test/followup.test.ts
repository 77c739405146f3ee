import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Reply } from "@cb/core";
import { handleMessage, handOverDue, SEND_SCHEDULED, type TurnDeps, type Understanding } from "../src/index.ts";
import { setUpTurns, type Answer, type Setup, type TurnSetup } from "./support.ts";

// Follow-ups a fulfillment schedules (`payload.schedule`): stored with the turn's plan, cancelled
// when the customer writes, and their event answered by a turn. Sending them when due is
// @cb/notifications' (packages/notifications/test/followup.test.ts).
let turns: TurnSetup;
let s: Setup;
let deps: TurnDeps;
let endpointId: string;
let answers: Map<string, Answer>;
// The intent understanding picks: by the message's event when it has one (as the NLU does), else `next`.
let next = "order.delivered";
const byEvent = new Map<string, string>();

before(async () => {
  turns = await setUpTurns(
    async ({ message }): Promise<Understanding> => ({
      intent: (message.event && byEvent.get(message.event.name)) ?? next,
      confidence: 1,
      parameters: { order: "A-1" },
      allRequiredParamsPresent: true,
      contexts: [],
      state: {},
    }),
  );
  ({ s, deps, endpointId, answers } = turns);
});
after(() => turns.close());

async function intent(name: string, responses: Reply[], options: { fulfilled?: boolean; events?: string[] } = {}) {
  await s.t.db.intent.create({
    data: {
      tenantId: s.tenantId,
      name,
      examples: [],
      responses: responses as object[],
      ...(options.fulfilled ? { fulfillmentEndpointId: endpointId } : {}),
      ...(options.events ? { events: options.events } : {}),
    },
  });
}
const followupsOf = async (chat: string) => {
  const conversation = await s.t.db.conversation.findFirstOrThrow({ where: { externalId: chat } });
  return s.t.db.notification.findMany({ where: { conversationId: conversation.id }, orderBy: { createdAt: "asc" } });
};
const jobKeys = async () =>
  (
    await s.t.pool.query<{ key: string }>(`SELECT key FROM graphile_worker.jobs WHERE task_identifier = $1`, [
      SEND_SCHEDULED,
    ])
  ).rows.map((r) => r.key);
const sent = (chat: string) =>
  s.telegram.calls
    .filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === chat)
    .map((c) => c.params.text);

test("payload.schedule stores a follow-up with the turn's plan: due `after` from now, keyed by the message, once", async () => {
  await intent("order.delivered", [], { fulfilled: true });
  answers.set("order.delivered", () => ({
    body: {
      fulfillmentText: "Delivered!",
      payload: {
        schedule: {
          after: "PT24H",
          event: "FEEDBACK_REQUEST",
          parameters: { ask: "stars" },
          cancelIfCustomerWrites: true,
        },
      },
    },
  }));
  const before = Date.now();
  const id = await s.receive({ chat: "501", text: "where is my order" });
  await handleMessage(deps, id);
  assert.deepEqual(sent("501"), ["Delivered!"]);
  const [f, ...more] = await followupsOf("501");
  assert.equal(more.length, 0);
  assert.deepEqual(
    [f!.kind, f!.status, f!.content, f!.cancelIfCustomerWrites, f!.idempotencyKey],
    ["followup", "scheduled", { event: "FEEDBACK_REQUEST", parameters: { ask: "stars" } }, true, `followup:${id}`],
  );
  const due = f!.dueAt!.getTime();
  assert.ok(due >= before + 24 * 3600_000 && due <= Date.now() + 24 * 3600_000);
  assert.deepEqual(
    [f!.enqueuedAt, (await jobKeys()).includes(f!.jobKey!)],
    [null, false],
    "a day ahead it waits in Notification for the hand-over, not in the job table",
  );
  await handleMessage(deps, id);
  assert.equal((await followupsOf("501")).length, 1, "a second run schedules nothing more");
});

test("the customer writing cancels the follow-ups marked cancelIfCustomerWrites (their jobs removed), not the others", async () => {
  answers.set("order.delivered", (request) => ({
    body: {
      fulfillmentText: "ok",
      payload: {
        schedule:
          request.queryResult.queryText === "first"
            ? { after: "P3D", text: "How was it?", cancelIfCustomerWrites: true }
            : { after: "P7D", text: "Anything else?" },
      },
    },
  }));
  await s.t.db.eventSubscription.create({
    data: {
      tenantId: s.tenantId,
      url: "https://hooks.example/c",
      eventTypes: ["notification.cancelled"],
      secrets: "sealed",
    },
  });
  await handleMessage(deps, await s.receive({ chat: "502", text: "first" }));
  // Handed over already (due within two minutes by then): its job is removed with it.
  const [first] = await followupsOf("502");
  await handOverDue(s.t.pool, new Date(first!.dueAt!.getTime() - 60_000));
  assert.ok((await jobKeys()).includes(first!.jobKey!));
  await handleMessage(deps, await s.receive({ chat: "502", text: "second" }));
  const [marked, unmarked] = await followupsOf("502");
  assert.deepEqual(
    [marked!.status, unmarked!.status],
    ["cancelled", "scheduled"],
    "the second message cancelled the first's follow-up; its own stays",
  );
  assert.equal(marked!.reason, "the customer wrote before it was due");
  const keys = await jobKeys();
  assert.ok(!keys.includes(marked!.jobKey!), "the cancelled one's job is gone");
  const events = await s.t.db.event.findMany({ where: { tenantId: s.tenantId, type: "notification.cancelled" } });
  assert.deepEqual(
    events.map((e) => e.data),
    [
      {
        notificationId: marked!.id,
        kind: "followup",
        status: "cancelled",
        reason: "the customer wrote before it was due",
      },
    ],
    "announced",
  );
});

test("a follow-up's event message triggers the intent listing it, with the event's parameters (#EVENT.param), and cancels nothing", async () => {
  await intent("feedback", [{ type: "text", text: "How many $ask (#FEEDBACK_REQUEST.ask) for order $order?" }], {
    events: ["FEEDBACK_REQUEST"],
  });
  byEvent.set("FEEDBACK_REQUEST", "feedback");
  answers.set("order.delivered", () => ({
    body: {
      fulfillmentText: "ok",
      payload: { schedule: { after: "P1D", text: "Later", cancelIfCustomerWrites: true } },
    },
  }));
  await handleMessage(deps, await s.receive({ chat: "503", text: "hello" }));
  const id = await s.receive({ chat: "503", event: { name: "FEEDBACK_REQUEST", parameters: { ask: "stars" } } });
  assert.deepEqual(await handleMessage(deps, id), { intent: "feedback", replies: 1 });
  assert.deepEqual(sent("503"), ["ok", "How many stars (stars) for order A-1?"]);
  assert.equal((await followupsOf("503"))[0]!.status, "scheduled", "an event is not the customer writing");
});

test("an answer whose payload.schedule is malformed is invalid: the intent's own responses, nothing scheduled", async () => {
  await intent("store.hours", [{ type: "text", text: "We open at nine." }], { fulfilled: true });
  next = "store.hours";
  for (const schedule of [
    { after: "24 hours", text: "x" },
    { after: "-PT1H", text: "x" },
    { after: "PT1H" },
    { after: "PT1H", text: "x", event: "E" },
    { after: "PT1H", text: "x", unknown: true },
  ]) {
    answers.set("store.hours", () => ({ body: { fulfillmentText: "Open!", payload: { schedule } } }));
    const id = await s.receive({ chat: "504", text: "hours" });
    await handleMessage(deps, id);
    const call = await s.t.db.fulfillmentCall.findFirstOrThrow({ where: { messageId: id } });
    assert.match(call.error ?? "", /invalid answer: \/payload\/schedule/, JSON.stringify(schedule));
  }
  assert.deepEqual(sent("504"), Array(5).fill("We open at nine."));
  assert.deepEqual(await followupsOf("504"), []);
  next = "order.delivered";
});
