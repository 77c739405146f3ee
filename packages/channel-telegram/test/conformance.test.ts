import { readFileSync } from "node:fs";
import type { ChannelAccount } from "@cb/core";
import { runConformance, type WebhookCall } from "@cb/core/conformance";
import { startFakeTelegram } from "@cb/fake-telegram";
import { driver, SECRET_HEADER } from "../src/index.ts";

const body = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const TOKEN = "123456:conformance-bot-token";
const account: ChannelAccount = {
  id: "9e8d7c6b-5a49-4382-b1c0-f9e8d7c6b5a4",
  tenantId: "00000000-0000-4000-8000-000000000001",
  channel: "telegram",
  config: { botId: 123456, username: "AcmeBot" },
  secrets: { botToken: TOKEN, secretToken: "conformance-secret-token" },
};
const update = (name: string): WebhookCall => ({
  method: "POST",
  url: `/${account.id}`,
  headers: { "content-type": "application/json", [SECRET_HEADER]: account.secrets.secretToken! },
  body: body(name),
});

runConformance({
  driver,
  account,
  to: { externalId: "1111111", type: "private" },
  deliveries: [
    { name: "text", request: update("official_message_text.json"), events: ["message"] },
    { name: "reply", request: update("official_message_reply.json"), events: ["message"] },
    { name: "entities", request: update("official_message_entities.json"), events: ["message"] },
    { name: "edited", request: update("official_edited_message.json"), events: ["message"] },
    { name: "button press", request: update("real_callback_query_with_message.json"), events: ["message"] },
  ],
  forgeries: (genuine) => {
    const { [SECRET_HEADER]: _, ...without } = genuine.headers ?? {};
    return [
      { name: "no secret token", request: { ...genuine, headers: without } },
      { name: "another secret token", request: { ...genuine, headers: { ...without, [SECRET_HEADER]: "guess" } } },
    ];
  },
  async fake() {
    const telegram = await startFakeTelegram();
    telegram.addBot(TOKEN);
    return {
      env: { TELEGRAM_API_ROOT: telegram.url },
      throttleNext: (retryAfter) =>
        telegram.failNext("sendMessage", {
          status: 429,
          description: `Too Many Requests: retry after ${retryAfter}`,
          retryAfter,
        }),
      close: () => telegram.close(),
    };
  },
});
