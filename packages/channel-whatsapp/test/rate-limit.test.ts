import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PlatformError, type ChannelAccount, type SendLimits } from "@cb/core";
import { simulatedClock, twoWorkersSendLimits, type TwoWorkers } from "@cb/core/testing";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { createSender } from "../src/index.ts";

// The platforms' limits live in PostgreSQL; a second pool with limits of its own is a second worker.
let workers: TwoWorkers;
let limits: SendLimits;
let otherWorker: SendLimits;
before(async () => {
  workers = await twoWorkersSendLimits();
  ({ limits, otherWorker } = workers);
});
after(() => workers.close());

let graph: FakeGraph;
const sender = (phoneNumberId: string, worker = () => limits) =>
  createSender(
    {
      id: `a-${phoneNumberId}`,
      tenantId: "t",
      channel: "whatsapp",
      config: { phoneNumberId },
      secrets: { accessToken: "EAAG-rate", appSecret: "s", verifyToken: "v" },
    } satisfies ChannelAccount,
    { GRAPH_API_BASE_URL: graph.url, GRAPH_API_VERSION: "v21.0" },
    worker(),
  );
/** Simulated milliseconds from `start` at which each message from that number reached the fake. */
const arrivals = (phoneNumberId: string, start: number) =>
  graph.calls
    .filter((c) => c.path === `/v21.0/${phoneNumberId}/messages`)
    .map((c) => c.at - start)
    .sort((a, b) => a - b);
const customers = (n: number, from: number) =>
  Array.from({ length: n }, (_, i) => ({ externalId: String(from + i), type: "private" as const }));

before(async () => {
  graph = await startFakeGraph();
  for (const id of ["100000000000001", "100000000000002", "100000000000003", "100000000000004"])
    graph.addPhoneNumber(id, "EAAG-rate");
});
after(() => graph.close());

test("a business number sends at most 80 messages a second, to however many customers (on a simulated clock)", async (t) => {
  const clock = simulatedClock(t, workers.database.pool);
  const start = Date.now();
  const s = sender("100000000000001");
  await clock.run(Promise.all(customers(170, 4915100000000).map((to) => s.send(to, { type: "text", text: "hi" }))));
  const at = arrivals("100000000000001", start);
  assert.equal(at.length, 170);
  assert.ok(at[79]! < 100, `the first 80 at once (the 80th at ${at[79]} ms)`);
  // Each second is kept 100 ms longer: the 81st at 1100 ms, the 161st at 2200.
  assert.ok(at[80]! >= 1000, `the 81st waits for the next second (${at[80]} ms)`);
  assert.ok(at[159]! < 1200 && at[160]! >= 2000, `and the 161st for the one after (${at[159]}, ${at[160]} ms)`);
});

test("each number has its own budget (on a simulated clock)", async (t) => {
  const clock = simulatedClock(t, workers.database.pool);
  const start = Date.now();
  await clock.run(
    Promise.all(
      ["100000000000002", "100000000000003"].flatMap((id) =>
        customers(80, 4915200000000).map((to) => sender(id).send(to, { type: "text", text: "hi" })),
      ),
    ),
  );
  // 160 messages in all, 80 per number: each number's all at once.
  const at = [...arrivals("100000000000002", start), ...arrivals("100000000000003", start)];
  assert.equal(at.length, 160);
  assert.ok(Math.max(...at) < 100, `the last at ${Math.max(...at)} ms`);
});

test("a pair rate limit (131056) holds that customer in every worker; a throughput limit (130429) the number", async () => {
  const first = sender("100000000000004");
  const second = sender("100000000000004", () => otherWorker);
  const at = (text: string, since: number) =>
    graph.calls.find((c) => c.body.text?.body === text && c.path.includes("100000000000004"))!.at - since;
  graph.failNext({ status: 400, code: 131056, message: "(#131056) pair rate limit hit", retryAfter: 2 });
  const refused = Date.now();
  await assert.rejects(
    first.send({ externalId: "4917000000001", type: "private" }, { type: "text", text: "refused" }),
    (err) => err instanceof PlatformError && err.retryAfterMs === 2000,
  );
  await Promise.all([
    second.send({ externalId: "4917000000001", type: "private" }, { type: "text", text: "same customer" }),
    second.send({ externalId: "4917000000002", type: "private" }, { type: "text", text: "other customer" }),
  ]);
  assert.ok(at("same customer", refused) >= 1950, `the same customer after ${at("same customer", refused)} ms`);
  assert.ok(at("other customer", refused) < 1000, `another customer after ${at("other customer", refused)} ms`);

  graph.failNext({ status: 400, code: 130429, message: "(#130429) Rate limit hit", retryAfter: 2 });
  const throttled = Date.now();
  await assert.rejects(first.send({ externalId: "4917000000003", type: "private" }, { type: "text", text: "x" }));
  await second.send({ externalId: "4917000000004", type: "private" }, { type: "text", text: "any customer" });
  assert.ok(
    at("any customer", throttled) >= 1950,
    `the number's next message after ${at("any customer", throttled)} ms`,
  );
});
