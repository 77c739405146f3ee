import { runMetaConformance } from "@cb/meta-graph/testing";
import { driver } from "../src/index.ts";

const TOKEN = "EAAG-conformance-page-token";

runMetaConformance({
  driver,
  config: { pageId: "1895382890692545" },
  token: { pageAccessToken: TOKEN },
  to: "1412611362105802",
  fixtures: new URL("./fixtures/", import.meta.url),
  deliveries: [
    { name: "text", file: "inbound_text_envelope.json", events: ["message"] },
    { name: "postback", file: "inbound_postback_envelope.json", events: ["message"] },
  ],
  register: (graph) => graph.addPageToken(TOKEN),
});
