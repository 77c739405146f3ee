import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PlatformError, type ChannelAccount, type SendLimits } from "@cb/core";
import { twoWorkersSendLimits, type TwoWorkers } from "@cb/core/testing";
import { startFakeSlack, type FakeSlack } from "@cb/fake-slack";
import { createSender } from "../src/index.ts";

// The platforms' limits live in PostgreSQL; a second pool with limits of its own is a second worker.
let workers: TwoWorkers;
let limits: SendLimits;
let otherWorker: SendLimits;
let slack: FakeSlack;
const workspace = (id: string): ChannelAccount => ({
  id,
  tenantId: "t",
  channel: "slack",
  config: {},
  secrets: { botToken: "xoxb-rate", signingSecret: "s" },
});
const A1 = "8b1d6a8e-0000-4000-8000-0000000000a1";
const A2 = "8b1d6a8e-0000-4000-8000-0000000000a2";
const channel = (id: string) => ({ externalId: id, type: "group" as const });

before(async () => {
  workers = await twoWorkersSendLimits();
  ({ limits, otherWorker } = workers);
  slack = await startFakeSlack();
  slack.addToken("xoxb-rate");
});
after(async () => {
  await slack.close();
  await workers.close();
});

test("about one message a second per channel, from every worker together; other channels and workspaces are not held up", async () => {
  const sender = createSender(workspace(A1), { SLACK_API_URL: slack.url }, limits);
  const second = createSender(workspace(A1), { SLACK_API_URL: slack.url }, otherWorker);
  const other = createSender(workspace(A2), { SLACK_API_URL: slack.url }, limits);
  // A first call opens the connection, so that the measured ones are not slowed by it.
  await sender.send(channel("C0"), { type: "text", text: "warm" });
  await Promise.all([
    ...["one", "two"].map((text) => sender.send(channel("C1"), { type: "text", text })),
    second.send(channel("C1"), { type: "text", text: "three" }),
    sender.send(channel("C2"), { type: "text", text: "other channel" }),
    other.send(channel("C1"), { type: "text", text: "other workspace" }),
  ]);
  const at = (text: string) => slack.calls.find((c) => c.args.text === text)!.at;
  const same = ["one", "two", "three"].map(at).sort((a, b) => a - b);
  // The starts are 1.1 s apart (2.2 s for three); arrivals on a loaded machine are uneven.
  // Unlimited, all three arrive within a few ms.
  assert.ok(same[2]! - same[0]! >= 1500, `the third ${same[2]! - same[0]!} ms after the first`);
  assert.ok(same[1]! - same[0]! >= 500, `the second ${same[1]! - same[0]!} ms after the first`);
  assert.ok(at("other channel") - same[0]! < 700, "another channel went out at once");
  assert.ok(at("other workspace") - same[0]! < 700, "another workspace's channel of the same id went out at once");
});

test("a 429 holds its channel for Retry-After in every worker; other channels go on", async () => {
  const sender = createSender(workspace(A1), { SLACK_API_URL: slack.url }, limits);
  const second = createSender(workspace(A1), { SLACK_API_URL: slack.url }, otherWorker);
  slack.failNext("chat.postMessage", { status: 429, error: "ratelimited", retryAfter: 3 });
  const refused = Date.now();
  await assert.rejects(
    sender.send(channel("C7"), { type: "text", text: "refused" }),
    (err) => err instanceof PlatformError && err.retryAfterMs === 3000,
  );
  await Promise.all([
    second.send(channel("C7"), { type: "text", text: "held" }),
    second.send(channel("C8"), { type: "text", text: "not held" }),
  ]);
  const at = (text: string) => slack.calls.find((c) => c.args.text === text)!.at - refused;
  assert.ok(at("held") >= 2950, `the same channel after ${at("held")} ms`);
  assert.ok(at("not held") < 1000, `another channel after ${at("not held")} ms`);
});
