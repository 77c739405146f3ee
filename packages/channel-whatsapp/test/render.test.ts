import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { renderReply } from "../src/index.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

test("up to three short choices are reply buttons, in WhatsApp's own shape", () => {
  const [m] = renderReply({
    type: "buttons",
    text: "BUTTON_TEXT",
    buttons: [
      { type: "postback", title: "BUTTON_TITLE_1", payload: "UNIQUE_BUTTON_ID_1" },
      { type: "postback", title: "BUTTON_TITLE_2", payload: "UNIQUE_BUTTON_ID_2" },
    ],
  });
  assert.deepEqual(m, { type: "interactive", interactive: fixture("outbound_interactive_button_object.json") });
});

test("more or longer choices become a list; beyond ten, numbered text", () => {
  const choices = Array.from({ length: 5 }, (_, i) => ({
    title: `Option number ${i} with a long name`,
    payload: `p${i}`,
  }));
  const [list] = renderReply({ type: "text", text: "Pick:", quickReplies: choices });
  const interactive = list!.interactive as {
    type: string;
    action: { sections: { rows: { id: string; title: string; description?: string }[] }[] };
  };
  assert.equal(interactive.type, "list");
  const rows = interactive.action.sections[0]!.rows;
  assert.equal(rows.length, 5);
  assert.ok(rows.every((r) => [...r.title].length <= 24 && r.description!.length <= 72));
  assert.equal(rows[0]!.id, "p0");
  const many = renderReply({
    type: "text",
    text: "Pick:",
    quickReplies: Array.from({ length: 12 }, (_, i) => ({ title: `O${i}`, payload: `p${i}` })),
  });
  assert.equal(many[0]!.type, "text");
  assert.match((many[0]!.text as { body: string }).body, /1\. O0\n2\. O1/);
});

test("one link is a CTA URL button; templates and images keep their shape; long text splits", () => {
  const [cta] = renderReply({
    type: "buttons",
    text: "Track it",
    buttons: [{ type: "url", title: "Track", url: "https://t.example/1" }],
  });
  assert.deepEqual(cta, {
    type: "interactive",
    interactive: {
      type: "cta_url",
      body: { text: "Track it" },
      action: { name: "cta_url", parameters: { display_text: "Track", url: "https://t.example/1" } },
    },
  });
  const template = fixture("outbound_template_object.json");
  const [t] = renderReply({
    type: "template",
    name: template.name,
    language: "en_US",
    components: template.components,
  });
  assert.deepEqual(t, {
    type: "template",
    template: { name: "Subscribe", language: { code: "en_US" }, components: template.components },
  });
  const parts = renderReply({ type: "text", text: "word ".repeat(2000) });
  assert.equal(parts.length, 3);
  assert.ok(parts.every((p) => [...(p.text as { body: string }).body].length <= 4096));
  const [card] = renderReply({
    type: "cards",
    cards: [
      {
        title: "Shoes",
        subtitle: "€49",
        imageUrl: "https://img.example/s.jpg",
        buttons: [{ type: "postback", title: "Buy", payload: "buy" }],
      },
    ],
  });
  assert.deepEqual((card!.interactive as { header: unknown }).header, {
    type: "image",
    image: { link: "https://img.example/s.jpg" },
  });
});
