import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChannelAccount } from "@cb/core";
import { startFakeSlack, type FakeSlack } from "@cb/fake-slack";
import { createSlackSender } from "../src/index.ts";

let slack: FakeSlack;
const workspace = (id: string): ChannelAccount => ({
  id,
  tenantId: "t",
  channel: "slack",
  config: {},
  secrets: { botToken: "xoxb-rate", signingSecret: "s" },
});

before(async () => {
  slack = await startFakeSlack();
  slack.addToken("xoxb-rate");
});
after(() => slack.close());

test("about one message a second per channel; other channels and other workspaces are not held up", async () => {
  const sender = createSlackSender(workspace("8b1d6a8e-0000-4000-8000-0000000000a1"), { SLACK_API_URL: slack.url });
  const other = createSlackSender(workspace("8b1d6a8e-0000-4000-8000-0000000000a2"), { SLACK_API_URL: slack.url });
  // A first call opens the connection, so that the measured ones are not slowed by it.
  await sender.send({ externalId: "C0", type: "group" }, { type: "text", text: "warm" });
  await Promise.all([
    ...["one", "two", "three"].map((text) => sender.send({ externalId: "C1", type: "group" }, { type: "text", text })),
    sender.send({ externalId: "C2", type: "group" }, { type: "text", text: "other channel" }),
    other.send({ externalId: "C1", type: "group" }, { type: "text", text: "other workspace" }),
  ]);
  const at = (text: string) => slack.calls.find((c) => c.args.text === text)!.at;
  // The starts are 1 s apart (2 s for three); arrivals on a loaded machine are uneven. Unlimited,
  // all three arrive within a few ms.
  assert.ok(at("three") - at("one") >= 1500, `the third ${at("three") - at("one")} ms after the first`);
  assert.ok(at("two") - at("one") >= 500, `the second ${at("two") - at("one")} ms after the first`);
  assert.ok(at("other channel") - at("one") < 700, "another channel went out at once");
  assert.ok(at("other workspace") - at("one") < 700, "another workspace's channel of the same id went out at once");
});
