import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  answerConversation,
  applyContexts,
  askForMissing,
  handleMessage,
  type AnswerOptions,
  type TurnDeps,
  type Understand,
  type Understanding,
} from "../src/index.ts";
import { setUp, type Setup } from "./support.ts";

let s: Setup;
let deps: TurnDeps;
/** Texts whose understanding fails, and how many more times. */
const failing = new Map<string, number>();
/** Texts whose understanding fails as a query on a connection a database restart cut, and how many more times. */
const cut = new Map<string, number>();
/** Texts whose understanding never ends. */
const hanging = new Set<string>();
const understood: string[] = [];

const understand: Understand = async ({ message }) => {
  const text = message.text ?? "";
  understood.push(text);
  if (hanging.has(text)) return new Promise<never>(() => {});
  const cuts = cut.get(text) ?? 0;
  if (cuts > 0) {
    cut.set(text, cuts - 1);
    throw Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
  }
  const left = failing.get(text) ?? 0;
  if (left > 0) {
    failing.set(text, left - 1);
    throw new Error(`the model store is unreachable (${text})`);
  }
  return {
    intent: "echo",
    confidence: 0.9,
    parameters: {},
    allRequiredParamsPresent: true,
    contexts: [],
    state: {},
  } satisfies Understanding;
};

before(async () => {
  s = await setUp();
  await s.t.db.intent.create({
    data: { tenantId: s.tenantId, name: "echo", examples: [], responses: [{ type: "text", text: "echo" }] },
  });
  await s.t.db.eventSubscription.create({
    data: { tenantId: s.tenantId, url: "https://example.com/events", eventTypes: ["*"], secrets: "sealed" },
  });
  deps = {
    db: s.t.db,
    pool: s.t.pool,
    accounts: s.accounts,
    understand,
    fulfill: async () => {
      throw new Error("no backend in these tests");
    },
    applyContexts,
    askForMissing,
  };
});
after(() => s.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const receive = (chat: string, text: string) => s.receive({ channel: "messenger", chat, text });
/** What each reply to `chat` answered, in the order they were sent (the reply row's key names it). */
async function answeredIn(chat: string): Promise<string[]> {
  const rows = await s.t.db.message.findMany({
    where: { direction: "out", status: "sent", conversation: { externalId: chat } },
    orderBy: { updatedAt: "asc" },
    select: { dedupeKey: true },
  });
  const inbound = await s.t.db.message.findMany({
    where: { id: { in: rows.map((r) => r.dedupeKey.split(":")[0]!) } },
    select: { id: true, content: true },
  });
  const textOf = new Map(inbound.map((m) => [m.id, (m.content as { text: string }).text]));
  return rows.map((r) => textOf.get(r.dedupeKey.split(":")[0]!)!);
}
const row = (id: string) => s.t.db.message.findUniqueOrThrow({ where: { id } });
const retryJobs = async (chat: string) => {
  const { id } = await s.t.db.conversation.findFirstOrThrow({ where: { externalId: chat } });
  return s.t.db.$queryRawUnsafe<
    { payload: { messageId: string }; run_at: Date; queue_name: string; priority: number }[]
  >(
    `SELECT j.payload, j.run_at, q.queue_name, j.priority FROM graphile_worker._private_jobs j
     LEFT JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id WHERE j.key = $1`,
    `answer:${id}`,
  );
};
// Long enough for the next call to come before it on a slow machine.
const quick: AnswerOptions = { retryDelayMs: () => 1500 };
const sleepUntil = (at: Date) => sleep(at.getTime() - Date.now() + 20);

test("a failing first message holds the second until it succeeds, whichever message's job runs", async () => {
  failing.set("first A", 2);
  const first = await receive("A", "first A");
  const second = await receive("A", "second A");

  // The second message's job runs while the first is failing: the first is tried, not the second.
  const one = await answerConversation(deps, second, quick);
  assert.deepEqual(one.answered, []);
  assert.equal(one.retrying?.messageId, first);
  assert.equal(one.retrying?.attempts, 1);
  assert.match(one.retrying!.error, /model store is unreachable/);
  const [retry] = await retryJobs("A");
  assert.equal(retry!.payload.messageId, first, "a job is scheduled for its retry");
  assert.ok(retry!.run_at.getTime() > Date.now() - 1000);
  assert.equal(retry!.priority, -1, "with the conversations under way, ahead of new ones");
  assert.equal((await row(second)).status, "received");

  // Before its retry is due, a job of the conversation does nothing: the second still waits.
  assert.deepEqual(await answerConversation(deps, second, quick), { answered: [], failed: [] });
  await sleepUntil(one.retrying!.retryAt);
  const two = await answerConversation(deps, first, quick);
  assert.equal(two.retrying?.attempts, 2);
  await sleepUntil(two.retrying!.retryAt);
  const three = await answerConversation(deps, first, quick);
  assert.deepEqual(three, { answered: [first, second], failed: [] });
  assert.deepEqual(await answeredIn("A"), ["first A", "second A"]);
  const done = await row(first);
  assert.equal(done.status, "processed");
  assert.equal(done.attempts, 3, "every attempt counted on the message");
});

test("after its last attempt a message is marked failed with its error and a message.failed event, and the next is answered", async () => {
  failing.set("doomed B", 100);
  const doomed = await receive("B", "doomed B");
  const next = await receive("B", "next B");
  const options = { ...quick, maxAttempts: 2 };

  const first = await answerConversation(deps, next, options);
  assert.equal(first.retrying?.attempts, 1);
  await sleepUntil(first.retrying!.retryAt);
  const last = await answerConversation(deps, doomed, options);
  assert.deepEqual(last.answered, [next]);
  assert.deepEqual(
    last.failed.map((f) => f.messageId),
    [doomed],
  );
  const failed = await row(doomed);
  assert.equal(failed.status, "failed");
  assert.equal(failed.attempts, 2);
  assert.match((failed.error as { message: string }).message, /model store is unreachable \(doomed B\)/);
  const [event] = await s.t.db.event.findMany({ where: { type: "message.failed" } });
  assert.deepEqual(event!.data, {
    conversationId: failed.conversationId,
    channelAccountId: failed.channelAccountId,
    channel: "messenger",
    messageId: doomed,
    direction: "in",
    attempts: 2,
    error: "the model store is unreachable (doomed B)",
  });
  assert.deepEqual(await answeredIn("B"), ["next B"]);
  // A failed message is not answered later, by a job of its own or a turn run on it.
  assert.deepEqual(await answerConversation(deps, doomed, options), { answered: [], failed: [] });
  assert.deepEqual(await handleMessage(deps, doomed), { replies: 0, skipped: "already processed" });
  assert.deepEqual(await answeredIn("B"), ["next B"]);
});

test("a turn cut short by the job's signal counts as an attempt and is retried; one whose attempts ran out without a record is failed", async () => {
  hanging.add("hang C");
  const hung = await receive("C", "hang C");
  const abort = new AbortController();
  setTimeout(() => abort.abort(new Error("the job ran longer than its limit")), 100);
  const cut = await answerConversation(deps, hung, { ...quick, signal: abort.signal });
  assert.equal(cut.retrying?.messageId, hung);
  assert.match(cut.retrying!.error, /longer than its limit/);
  assert.equal((await row(hung)).attempts, 1);

  // A worker killed mid-turn leaves its attempt counted and nothing else: past the bound, no turn is tried.
  const killed = await receive("C2", "killed C2");
  await s.t.db.message.update({ where: { id: killed }, data: { attempts: 3 } });
  const calls = understood.length;
  const result = await answerConversation(deps, killed, { ...quick, maxAttempts: 3 });
  assert.deepEqual(result.failed, [{ messageId: killed, error: "its last attempt did not finish" }]);
  assert.equal(understood.length, calls, "no fourth turn");
  assert.equal((await row(killed)).status, "failed");
});

test("a job stops starting turns at its budget and leaves the rest to a job queued in the conversation", async () => {
  const first = await receive("D", "one D");
  const second = await receive("D", "two D");
  const result = await answerConversation(deps, first, { budgetMs: 0 });
  assert.deepEqual(result, { answered: [first], failed: [] });
  const [next] = await retryJobs("D");
  assert.equal(next!.payload.messageId, second);
  assert.match(next!.queue_name, /^conversation:/);
  assert.equal(next!.priority, -1, "a conversation under way");
  assert.deepEqual((await answerConversation(deps, next!.payload.messageId)).answered, [second]);
});

test("a turn the database's absence failed is tried again at once once it answers, and the attempt does not count", async () => {
  cut.set("first E", 2);
  const first = await receive("E", "first E");
  const second = await receive("E", "second E");
  const result = await answerConversation(deps, first, { retryDelayMs: () => 60_000 });
  const cutError = "terminating connection due to administrator command";
  assert.deepEqual(
    result,
    {
      answered: [first, second],
      failed: [],
      outages: [
        { messageId: first, error: cutError },
        { messageId: first, error: cutError },
      ],
    },
    "no retry scheduled, the next one answered, the outages reported",
  );
  assert.deepEqual(await answeredIn("E"), ["first E", "second E"]);
  assert.equal((await row(first)).attempts, 1, "only the turn that succeeded counted");
  assert.deepEqual(await retryJobs("E"), []);
});
