import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { IntentResponse } from "@cb/core";
import { applyContexts, askForMissing, handleMessage, type TurnDeps, type Understanding } from "../src/index.ts";
import { setUp, type Setup } from "./support.ts";

let s: Setup;
let deps: TurnDeps;
const understood: Understanding = {
  intent: "menu",
  confidence: 0.9,
  parameters: {},
  allRequiredParamsPresent: true,
  contexts: [],
  state: {},
};

before(async () => {
  s = await setUp();
  deps = {
    db: s.t.db,
    pool: s.t.pool,
    accounts: s.accounts,
    understand: async () => understood,
    fulfill: async () => {
      throw new Error("no intent here has fulfillment");
    },
    applyContexts,
    askForMissing,
  };
});
after(() => s.close());

const responses: IntentResponse[] = [
  { type: "text", text: "Our menu:" },
  { type: "text", text: "Our menu, on Messenger:", platform: "messenger" },
  {
    type: "custom",
    channel: "messenger",
    payload: { text: "Pick one", quick_replies: [{ content_type: "text", title: "Pizza", payload: "PIZZA" }] },
    platform: "messenger",
  },
];

test("an intent's responses for one platform are sent there only; other channels get the platform-independent ones", async () => {
  await s.t.db.intent.create({
    data: { tenantId: s.tenantId, name: "menu", examples: [], responses: responses as object[] },
  });
  await handleMessage(deps, await s.receive({ channel: "messenger", chat: "601", text: "menu" }));
  assert.deepEqual(
    s.graph.calls.filter((c) => c.body.recipient?.id === "601").map((c) => c.body.message),
    [
      { text: "Our menu, on Messenger:" },
      { text: "Pick one", quick_replies: [{ content_type: "text", title: "Pizza", payload: "PIZZA" }] },
    ],
  );
  await handleMessage(deps, await s.receive({ chat: "602", text: "menu" }));
  assert.deepEqual(
    s.telegram.calls.filter((c) => String(c.params.chat_id) === "602").map((c) => c.params.text),
    ["Our menu:"],
  );
});
