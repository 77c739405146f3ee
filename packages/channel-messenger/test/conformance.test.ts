import { readFileSync } from "node:fs";
import type { ChannelAccount } from "@cb/core";
import { runConformance } from "@cb/core/conformance";
import { fakeGraphPlatform, metaDeliveries, metaForgeries } from "@cb/meta-graph/testing";
import { driver } from "../src/index.ts";

const body = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const TOKEN = "EAAG-conformance-page-token";
const account: ChannelAccount = {
  id: "0b5e2c1a-6f4d-4e3b-8a2c-9d8e7f6a5b4c",
  tenantId: "00000000-0000-4000-8000-000000000001",
  channel: "messenger",
  config: { pageId: "1895382890692545" },
  secrets: { pageAccessToken: TOKEN, appSecret: "messenger-app-secret", verifyToken: "messenger-verify-token" },
};

runConformance({
  driver,
  account,
  to: { externalId: "1412611362105802", type: "private" },
  deliveries: metaDeliveries(account, [
    { name: "text", body: body("inbound_text_envelope.json"), events: ["message"] },
    { name: "postback", body: body("inbound_postback_envelope.json"), events: ["message"] },
  ]),
  forgeries: metaForgeries,
  fake: () => fakeGraphPlatform((graph) => graph.addPageToken(TOKEN)),
});
