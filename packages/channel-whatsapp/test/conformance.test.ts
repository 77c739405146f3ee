import { readFileSync } from "node:fs";
import type { ChannelAccount } from "@cb/core";
import { runConformance } from "@cb/core/conformance";
import { fakeGraphPlatform, metaDeliveries, metaForgeries } from "@cb/meta-graph/testing";
import { driver } from "../src/index.ts";

const body = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const TOKEN = "EAAG-conformance-access-token";
const PHONE_NUMBER_ID = "1122334455667";
const account: ChannelAccount = {
  id: "3c9a7e51-2b8d-4f60-a1c4-7e5d3b2a1f09",
  tenantId: "00000000-0000-4000-8000-000000000001",
  channel: "whatsapp",
  config: { phoneNumberId: PHONE_NUMBER_ID },
  secrets: { accessToken: TOKEN, appSecret: "whatsapp-app-secret", verifyToken: "whatsapp-verify-token" },
};

runConformance({
  driver,
  account,
  to: { externalId: "972987654321", type: "private" },
  deliveries: metaDeliveries(account, [
    { name: "text", body: body("inbound_text.json"), events: ["message"] },
    { name: "image", body: body("inbound_image.json"), events: ["message"] },
    { name: "button reply", body: body("inbound_interactive_button_reply.json"), events: ["message"] },
    { name: "list reply", body: body("inbound_interactive_list_reply.json"), events: ["message"] },
    { name: "reaction", body: body("inbound_reaction.json"), events: ["message"] },
    { name: "location", body: body("inbound_location_chosen.json"), events: ["message"] },
  ]),
  forgeries: metaForgeries,
  fake: () => fakeGraphPlatform((graph) => graph.addPhoneNumber(PHONE_NUMBER_ID, TOKEN)),
});
