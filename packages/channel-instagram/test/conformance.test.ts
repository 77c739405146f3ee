import { runMetaConformance } from "@cb/meta-graph/testing";
import { driver } from "../src/index.ts";

const TOKEN = "IGAA-conformance-page-token";

runMetaConformance({
  driver,
  config: { instagramAccountId: "IGID" },
  token: { pageAccessToken: TOKEN },
  to: "IGSID",
  fixtures: new URL("./fixtures/", import.meta.url),
  deliveries: [
    { name: "text", file: "docs_text.json", events: ["message"] },
    { name: "image", file: "docs_attachment_image.json", events: ["message"] },
    { name: "story mention", file: "docs_story_mention.json", events: ["message"] },
    { name: "story reply", file: "docs_story_reply.json", events: ["message"] },
    { name: "reaction", file: "docs_reaction.json", events: ["message"] },
    { name: "unreact", file: "docs_unreact.json", events: ["message"] },
    { name: "quick reply", file: "docs_quick_reply.json", events: ["message"] },
    { name: "postback", file: "docs_postback.json", events: ["message"] },
    { name: "seen", file: "docs_seen.json", events: ["read"] },
    { name: "echo", file: "docs_echo.json", events: [] },
  ],
  register: (graph) => graph.addInstagramToken(TOKEN),
});
