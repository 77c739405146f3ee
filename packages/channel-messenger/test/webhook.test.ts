import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChannelAccount, InboundEvent } from "@cb/core";
import { hubSignature } from "@cb/meta-graph";
import Fastify, { type FastifyInstance } from "fastify";
import { driver } from "../src/index.ts";
import { readFileSync } from "node:fs";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
const account: ChannelAccount = {
  id: "7a1d6a8e-0000-4000-8000-000000000001",
  tenantId: "t",
  channel: "messenger",
  config: { pageId: "1895382890692545" },
  secrets: { pageAccessToken: "EAA-page-token", appSecret: "page-app-secret", verifyToken: "v" },
};
let app: FastifyInstance;
const ingested: InboundEvent[][] = [];

before(async () => {
  app = Fastify();
  await app.register(driver.webhook, {
    prefix: "/webhooks/messenger",
    loadAccount: async (id) => (id === account.id ? account : null),
    ingest: async (_a, e) => void ingested.push(e),
  });
});
after(() => app.close());

test("a signed webhook reaches ingest; a wrong signature is refused", async () => {
  const body = Buffer.from(JSON.stringify(fixture("inbound_text_envelope.json")));
  const post = (signature: string) =>
    app.inject({
      method: "POST",
      url: `/webhooks/messenger/${account.id}`,
      headers: { "content-type": "application/json", "x-hub-signature-256": signature },
      payload: body,
    });
  assert.equal((await post(hubSignature(body, "another-secret"))).statusCode, 401);
  assert.equal((await post("sha256=")).statusCode, 401);
  const unsigned = await app.inject({
    method: "POST",
    url: `/webhooks/messenger/${account.id}`,
    headers: { "content-type": "application/json" },
    payload: body,
  });
  assert.equal(unsigned.statusCode, 401);
  const whatsapp = Buffer.from('{"object":"whatsapp_business_account","entry":[]}');
  const wrongObject = await app.inject({
    method: "POST",
    url: `/webhooks/messenger/${account.id}`,
    headers: { "content-type": "application/json", "x-hub-signature-256": hubSignature(whatsapp, "page-app-secret") },
    payload: whatsapp,
  });
  assert.equal(wrongObject.statusCode, 400, "another platform's body, though signed");
  const handshake = (token: string) =>
    app.inject(`/webhooks/messenger/${account.id}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=42`);
  assert.equal((await handshake("wrong")).statusCode, 403);
  assert.equal((await handshake("v")).body, "42");
  assert.equal(ingested.length, 0);
  assert.equal((await post(hubSignature(body, "page-app-secret"))).statusCode, 200);
  assert.equal(ingested.length, 1);
});
