import { runMetaConformance } from "@cb/meta-graph/testing";
import { driver } from "../src/index.ts";

const TOKEN = "EAAG-conformance-access-token";
const PHONE_NUMBER_ID = "1122334455667";

runMetaConformance({
  driver,
  config: { phoneNumberId: PHONE_NUMBER_ID },
  token: { accessToken: TOKEN },
  to: "972987654321",
  fixtures: new URL("./fixtures/", import.meta.url),
  deliveries: [
    { name: "text", file: "inbound_text.json", events: ["message"] },
    { name: "image", file: "inbound_image.json", events: ["message"] },
    { name: "button reply", file: "inbound_interactive_button_reply.json", events: ["message"] },
    { name: "list reply", file: "inbound_interactive_list_reply.json", events: ["message"] },
    { name: "reaction", file: "inbound_reaction.json", events: ["message"] },
    { name: "location", file: "inbound_location_chosen.json", events: ["message"] },
  ],
  register: (graph) => graph.addPhoneNumber(PHONE_NUMBER_ID, TOKEN),
});
