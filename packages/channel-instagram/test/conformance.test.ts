import { readFileSync } from "node:fs";
import type { ChannelAccount } from "@cb/core";
import { runConformance } from "@cb/core/conformance";
import { fakeGraphPlatform, metaDeliveries, metaForgeries } from "@cb/meta-graph/testing";
import { driver } from "../src/index.ts";

const body = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const TOKEN = "IGAA-conformance-page-token";
const account: ChannelAccount = {
  id: "7b0c1f5e-3a55-4c5e-9a3e-5d6f7a8b9c0d",
  tenantId: "00000000-0000-4000-8000-000000000001",
  channel: "instagram",
  config: { instagramAccountId: "IGID" },
  secrets: { pageAccessToken: TOKEN, appSecret: "instagram-app-secret", verifyToken: "instagram-verify-token" },
};

runConformance({
  driver,
  account,
  to: { externalId: "IGSID", type: "private" },
  deliveries: metaDeliveries(account, [
    { name: "text", body: body("docs_text.json"), events: ["message"] },
    { name: "image", body: body("docs_attachment_image.json"), events: ["message"] },
    { name: "story mention", body: body("docs_story_mention.json"), events: ["message"] },
    { name: "story reply", body: body("docs_story_reply.json"), events: ["message"] },
    { name: "reaction", body: body("docs_reaction.json"), events: ["message"] },
    { name: "unreact", body: body("docs_unreact.json"), events: ["message"] },
    { name: "quick reply", body: body("docs_quick_reply.json"), events: ["message"] },
    { name: "postback", body: body("docs_postback.json"), events: ["message"] },
    { name: "seen", body: body("docs_seen.json"), events: ["read"] },
    { name: "echo", body: body("docs_echo.json"), events: [] },
  ]),
  forgeries: metaForgeries,
  fake: () => fakeGraphPlatform((graph) => graph.addInstagramToken(TOKEN)),
});
