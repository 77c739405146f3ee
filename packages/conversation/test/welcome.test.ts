import { test } from "node:test";
import assert from "node:assert/strict";
import { welcomeEvents } from "../src/welcome.ts";
import { inbound as message } from "./support.ts";

test("Telegram's /start, Messenger's Get Started and a first visit to Slack's Messages tab fire the platform's welcome event, then WELCOME", () => {
  assert.deepEqual(welcomeEvents(message({ text: "/start", command: { name: "start", args: "" } })), [
    "TELEGRAM_WELCOME",
    "WELCOME",
  ]);
  for (const payload of ["GET_STARTED", "FACEBOOK_WELCOME", "get_started"])
    assert.deepEqual(welcomeEvents(message({ channel: "messenger", postback: { payload } })), [
      "FACEBOOK_WELCOME",
      "WELCOME",
    ]);
  assert.deepEqual(welcomeEvents(message({ text: "/help", command: { name: "help", args: "" } })), []);
  assert.deepEqual(welcomeEvents(message({ text: "start" })), [], "the word is not the command");
  assert.deepEqual(welcomeEvents(message({ channel: "messenger", postback: { payload: "GET_STARTED_NOW" } })), []);
  assert.deepEqual(
    welcomeEvents(message({ channel: "slack", command: { name: "start", args: "" } })),
    [],
    "only Telegram's /start",
  );
  assert.deepEqual(welcomeEvents(message({ channel: "slack", command: { name: "app_home_opened", args: "" } })), [
    "SLACK_WELCOME",
    "WELCOME",
  ]);
});

test("a scheduled follow-up's event fires that event", () => {
  assert.deepEqual(welcomeEvents(message({ event: { name: "FEEDBACK_REQUEST", parameters: {} } })), [
    "FEEDBACK_REQUEST",
  ]);
});
