import { test } from "node:test";
import assert from "node:assert/strict";
import { applyOutputContexts, trainModel, understand, type DialogState } from "../src/index.ts";
import { orderIdType, shopIntents } from "./fixtures.ts";

const model = trainModel(shopIntents, { entityTypes: [orderIdType] });
const tenant = { timezone: "Europe/Berlin" };
const turn = (text: string, state: DialogState | undefined) => understand({ text, state, model, tenant });

test("slot filling: the missing order number is asked for, and the answer completes the intent", () => {
  const first = turn("Where is my order?", undefined);
  assert.equal(first.intent, "order.status");
  assert.equal(first.allRequiredParamsPresent, false);
  assert.equal(first.prompt, "What is your order number?");
  const second = turn("It's 12345", first.state);
  assert.equal(second.intent, "order.status");
  assert.equal(second.allRequiredParamsPresent, true);
  assert.deepEqual(second.parameters, { order_id: "12345" });
  assert.equal(second.prompt, undefined);
  assert.equal(second.state.pending, undefined);
});

test("an answer holding the value asked for fills it, even when it resembles another intent", () => {
  const first = turn("where is my order", undefined);
  const answer = turn("send it back, it's 12345", first.state);
  assert.equal(
    model.classify("send it back, it's 12345").intent,
    "return.followup",
    "on its own the text reads as the follow-up",
  );
  assert.equal(answer.intent, "order.status");
  assert.deepEqual(answer.parameters, { order_id: "12345" });
});

test("a parameter given up front needs no prompt, and its text span is kept", () => {
  const result = turn("what's the status of order 10001", undefined);
  assert.deepEqual(result.parameters, { order_id: "10001" });
  assert.deepEqual(result.parameterSpans, { order_id: "10001" });
  assert.equal(result.allRequiredParamsPresent, true);
});

test("an unhelpful answer is asked again with the next prompt, then given up to the fallback", () => {
  const first = turn("where is my order", undefined);
  const again = turn("I don't know", first.state);
  assert.equal(again.prompt, "Please type the 5-digit number from your confirmation e-mail.");
  const giveUp = turn("no idea", again.state);
  assert.equal(giveUp.intent, "fallback");
  assert.equal(giveUp.state.pending, undefined);
});

test("changing the subject abandons the pending question", () => {
  const first = turn("where is my order", undefined);
  const moved = turn("I need to talk to a human", first.state);
  assert.equal(moved.intent, "support.ticket");
  assert.equal(moved.state.pending, undefined);
});

test("contexts: output contexts gate follow-up intents and expire after their lifespan", () => {
  assert.notEqual(
    turn("return it", undefined).intent,
    "return.followup",
    "without the order context the follow-up cannot match",
  );
  const status = turn("where is order 12345", undefined);
  assert.deepEqual(
    status.contexts.map((c) => [c.name, c.lifespanCount]),
    [["order", 3]],
  );
  assert.equal(turn("return it", status.state).intent, "return.followup");
  let state: DialogState = status.state;
  for (let i = 0; i < 3; i++) state = turn("hello", state).state;
  assert.deepEqual(state.contexts, [], "lifespan 3 is used up after three more turns");
  const replaced = applyOutputContexts(status.state, [
    { name: "order", lifespanCount: 5, parameters: { order_id: "12345" } },
    { name: "vip", lifespanCount: 2 },
  ]);
  assert.deepEqual(
    replaced.contexts?.map((c) => [c.name, c.lifespanCount]),
    [
      ["order", 5],
      ["vip", 2],
    ],
  );
});

test("unknown text falls back", () => {
  const result = turn("what is the capital of mongolia", undefined);
  assert.equal(result.intent, "fallback");
  assert.ok(result.confidence < model.threshold);
});

test("a context of lifespan 1 gates the next message only, as in Dialogflow", () => {
  const model = trainModel(
    [
      {
        name: "convert",
        examples: ["convert 30 degrees", "27 celsius", "how about 45 degrees"],
        outputContexts: [{ name: "temperature", lifespan: 1 }],
      },
      { name: "kelvin", examples: ["kelvin", "in kelvin", "K"], inputContexts: ["temperature"] },
      { name: "hello", examples: ["hello", "hi there", "good morning"] },
    ],
    {},
  );
  const say = (text: string, state: DialogState | undefined) => understand({ text, state, model, tenant });
  const converted = say("convert 30 degrees", undefined);
  assert.equal(say("kelvin", converted.state).intent, "kelvin");
  const later = say("hello", converted.state);
  assert.notEqual(say("kelvin", later.state).intent, "kelvin", "one message later it is gone");
});

test("slot filling: the intent's output contexts are set when it completes, with its parameters and full lifespan, not while prompting", () => {
  const first = turn("where is my order", undefined);
  assert.equal(first.allRequiredParamsPresent, false);
  assert.deepEqual(first.contexts, [], "nothing set on the prompting turn");
  assert.deepEqual(first.state.contexts, []);
  const again = turn("I don't know", first.state);
  assert.deepEqual(again.contexts, [], "nor on the next prompt");
  const done = turn("it's 12345", again.state);
  assert.equal(done.allRequiredParamsPresent, true);
  assert.deepEqual(done.contexts, [
    { name: "order", lifespanCount: 3, parameters: { order_id: "12345", "order_id.original": "12345" } },
  ]);
  assert.deepEqual(done.state.contexts, done.contexts);
  assert.equal(turn("return it", done.state).intent, "return.followup", "the follow-up matches after prompting");
});

test("an intent matched with all its parameters sets its output contexts with them and their original text", () => {
  const status = turn("where is order 12345", undefined);
  assert.deepEqual(status.contexts, [
    { name: "order", lifespanCount: 3, parameters: { order_id: "12345", "order_id.original": "12345" } },
  ]);
});

test("an output context of lifespan 0 ends the active context of that name", () => {
  const intents = [
    { name: "start", examples: ["start the order", "begin my order"], outputContexts: [{ name: "cart", lifespan: 4 }] },
    {
      name: "finish",
      examples: ["finish the order", "done with my order"],
      outputContexts: [{ name: "cart", lifespan: 0 }],
    },
  ];
  const small = trainModel(intents);
  const started = understand({ text: "start the order", state: undefined, model: small, tenant });
  assert.deepEqual(
    started.contexts.map((c) => c.name),
    ["cart"],
  );
  const finished = understand({ text: "finish the order", state: started.state, model: small, tenant });
  assert.equal(finished.intent, "finish");
  assert.deepEqual(finished.contexts, []);
});

test("priority: of intents the text matches about equally, the higher priority is chosen; a clear match or equal priorities change nothing", () => {
  const cancelling = (orderPriority?: number) =>
    trainModel([
      {
        name: "cancel.order",
        examples: [
          "cancel my order",
          "I want to cancel the order",
          "please cancel order",
          "stop my order",
          "cancel the purchase",
        ],
        ...(orderPriority !== undefined ? { priority: orderPriority } : {}),
      },
      {
        name: "cancel.subscription",
        examples: [
          "cancel my subscription",
          "I want to cancel the subscription",
          "please cancel my plan",
          "stop my subscription",
          "end my membership",
        ],
      },
      { name: "greet", examples: ["hello", "hi there", "good morning"] },
    ]);
  const said = (model: ReturnType<typeof trainModel>, text: string) =>
    understand({ text, state: undefined, model, tenant });
  const equal = cancelling();
  const [first, second] = equal.classify("cancel please").ranking;
  assert.ok(first!.confidence - second!.confidence < 0.1, "the two cancels are about as likely");
  assert.ok(first!.confidence < equal.threshold, "neither on its own is confident");
  assert.equal(said(equal, "cancel please").intent, "Default Fallback Intent", "equal priorities: as before");
  const high = said(cancelling(1_000_000), "cancel please");
  assert.equal(high.intent, "cancel.order");
  assert.ok(high.confidence >= equal.threshold, "with the two cancels' combined confidence");
  assert.equal(said(cancelling(250_000), "cancel please").intent, "cancel.subscription", "a low priority yields");
  assert.equal(
    said(cancelling(1_000_000), "cancel my subscription").intent,
    "cancel.subscription",
    "a clear match stands",
  );
});
