import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChannelAccount } from "@cb/core";
import { startFakeGraph, type FakeGraph } from "@cb/fake-graph";
import { createWhatsAppSender } from "../src/index.ts";
import { simulatedClock } from "./clock.ts";

let graph: FakeGraph;
const sender = (phoneNumberId: string) =>
  createWhatsAppSender(
    {
      id: `a-${phoneNumberId}`,
      tenantId: "t",
      channel: "whatsapp",
      config: { phoneNumberId },
      secrets: { accessToken: "EAAG-rate", appSecret: "s", verifyToken: "v" },
    } satisfies ChannelAccount,
    { GRAPH_API_BASE_URL: graph.url, GRAPH_API_VERSION: "v21.0" },
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
  for (const id of ["100000000000001", "100000000000002", "100000000000003"]) graph.addPhoneNumber(id, "EAAG-rate");
});
after(() => graph.close());

test("a business number sends at most 80 messages a second, to however many customers (on a simulated clock)", async (t) => {
  const clock = simulatedClock(t);
  const start = Date.now();
  const s = sender("100000000000001");
  await clock.run(Promise.all(customers(170, 4915100000000).map((to) => s.send(to, { type: "text", text: "hi" }))));
  const at = arrivals("100000000000001", start);
  assert.equal(at.length, 170);
  assert.ok(at[79]! < 100, `the first 80 at once (the 80th at ${at[79]} ms)`);
  assert.ok(at[80]! >= 1000, `the 81st waits for the next second (${at[80]} ms)`);
  assert.ok(at[159]! < 1100 && at[160]! >= 2000, `and the 161st for the one after (${at[159]}, ${at[160]} ms)`);
});

test("each number has its own budget (on a simulated clock)", async (t) => {
  const clock = simulatedClock(t);
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
