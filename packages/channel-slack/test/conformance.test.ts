import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ChannelAccount } from "@cb/core";
import { runConformance, type WebhookCall } from "@cb/core/conformance";
import { startFakeSlack } from "@cb/fake-slack";
import { driver } from "../src/index.ts";

const body = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const TOKEN = "xoxb-conformance-token";
const SIGNING_SECRET = "slack-conformance-signing-secret";
const account: ChannelAccount = {
  id: "2f1e0d9c-8b7a-4695-a4b3-c2d1e0f9a8b7",
  tenantId: "00000000-0000-4000-8000-000000000001",
  channel: "slack",
  config: { teamId: "T123ABC456", botUserId: "U0LAN0Z89" },
  secrets: { botToken: TOKEN, signingSecret: SIGNING_SECRET },
};
const signed = (payload: string, contentType: string, secret = SIGNING_SECRET): WebhookCall => {
  const ts = String(Math.floor(Date.now() / 1000));
  return {
    method: "POST",
    url: `/${account.id}`,
    headers: {
      "content-type": contentType,
      "x-slack-request-timestamp": ts,
      "x-slack-signature": `v0=${createHmac("sha256", secret).update(`v0:${ts}:${payload}`).digest("hex")}`,
    },
    body: payload,
  };
};

runConformance({
  driver,
  account,
  to: { externalId: "D024BE91L", type: "private" },
  deliveries: [
    { name: "message", request: signed(body("event_callback_message.json"), "application/json"), events: ["message"] },
    {
      name: "mention",
      request: signed(body("event_callback_app_mention.json"), "application/json"),
      events: ["message"],
    },
    {
      name: "Messages tab opened",
      request: signed(body("event_callback_app_home_opened.json"), "application/json"),
      events: ["message"],
    },
    {
      name: "button press",
      request: signed(body("block_actions_form_body.txt").trim(), "application/x-www-form-urlencoded"),
      events: ["message"],
    },
  ],
  forgeries: (genuine) => {
    const { "x-slack-signature": _, ...unsigned } = genuine.headers ?? {};
    const stale = String(Math.floor(Date.now() / 1000) - 600);
    return [
      { name: "no signature", request: { ...genuine, headers: unsigned } },
      {
        name: "another app's secret",
        request: signed(genuine.body ?? "", genuine.headers?.["content-type"] ?? "", "not-the-secret"),
      },
      {
        name: "replayed after five minutes",
        request: {
          ...genuine,
          headers: {
            ...unsigned,
            "x-slack-request-timestamp": stale,
            "x-slack-signature": `v0=${createHmac("sha256", SIGNING_SECRET).update(`v0:${stale}:${genuine.body}`).digest("hex")}`,
          },
        },
      },
    ];
  },
  async fake() {
    const slack = await startFakeSlack();
    slack.addToken(TOKEN, { teamId: "T123ABC456", botUserId: "U0LAN0Z89" });
    return {
      env: { SLACK_API_URL: slack.url },
      throttleNext: (retryAfter) => slack.failNext("chat.postMessage", { status: 429, retryAfter }),
      close: () => slack.close(),
    };
  },
});
