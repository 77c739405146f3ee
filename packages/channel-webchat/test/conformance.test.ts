import { after } from "node:test";
import type { ChannelAccount } from "@cb/core";
import { runConformance, type WebhookCall } from "@cb/core/conformance";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { driver, userHash } from "../src/index.ts";

// The web chat's "platform" is the visitor's browser: deliveries are the widget's posts, a forger is
// someone claiming a user id without the business's HMAC, and there is no API to answer 429.
const SECRET = "webchat-identity-secret";
const account: ChannelAccount = {
  id: "3f0b1a2c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
  tenantId: "00000000-0000-4000-8000-000000000001",
  channel: "webchat",
  config: {},
  secrets: { identitySecret: SECRET },
};
const user = (id: string, hash = userHash(SECRET, id)) => `Bearer u.${Buffer.from(id).toString("base64url")}.${hash}`;
const post = (authorization: string, body: object): WebhookCall => ({
  method: "POST",
  url: `/${account.id}/messages`,
  headers: { authorization, "content-type": "application/json" },
  body: JSON.stringify(body),
});

let database: TestDatabase | undefined;
after(() => database?.drop());

runConformance({
  driver,
  account,
  to: { externalId: "user:ada", type: "private" },
  deliveries: [
    {
      name: "an anonymous visitor's text",
      request: post("Bearer v.abcdefghijklmnopqrstuvwxyz012345", { clientId: "client-0001", text: "hello" }),
      events: ["message"],
      status: 202,
    },
    {
      name: "an identified user's button press",
      request: post(user("ada"), { clientId: "client-0002", postback: { payload: "ORDER_STATUS", title: "Track" } }),
      events: ["message"],
      status: 202,
    },
  ],
  forgeries: (genuine) => {
    const body = genuine.body ?? "";
    return [
      { name: "no credential", request: { ...genuine, headers: { "content-type": "application/json" } } },
      {
        name: "another user's id with this hash",
        request: post(user("grace", userHash(SECRET, "ada")), JSON.parse(body)),
      },
      {
        name: "a hash made with another secret",
        request: post(user("ada", userHash("guess", "ada")), JSON.parse(body)),
      },
    ];
  },
  plugin: async () => {
    database ??= await createTestDatabase();
    return { pool: database.pool, live: { subscribe: () => () => {}, pingMs: 15_000 } };
  },
});
