import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { render, type WaMessage } from "../src/index.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

test("up to three short choices are reply buttons, in WhatsApp's own shape", () => {
  const [m] = render({
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
  const [list] = render({ type: "text", text: "Pick:", quickReplies: choices });
  const interactive = list!.interactive as {
    type: string;
    action: { sections: { rows: { id: string; title: string; description?: string }[] }[] };
  };
  assert.equal(interactive.type, "list");
  const rows = interactive.action.sections[0]!.rows;
  assert.equal(rows.length, 5);
  assert.ok(rows.every((r) => [...r.title].length <= 24 && r.description!.length <= 72));
  assert.equal(rows[0]!.id, "p0");
  const many = render({
    type: "text",
    text: "Pick:",
    quickReplies: Array.from({ length: 12 }, (_, i) => ({ title: `O${i}`, payload: `p${i}` })),
  });
  assert.equal(many[0]!.type, "text");
  assert.match((many[0]!.text as { body: string }).body, /1\. O0\n2\. O1/);
});

test("one link is a CTA URL button; templates and images keep their shape; long text splits", () => {
  const [cta] = render({
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
  const [t] = render({
    type: "template",
    name: template.name,
    language: "en_US",
    components: template.components,
  });
  assert.deepEqual(t, {
    type: "template",
    template: { name: "Subscribe", language: { code: "en_US" }, components: template.components },
  });
  const parts = render({ type: "text", text: "word ".repeat(2000) });
  assert.equal(parts.length, 3);
  assert.ok(parts.every((p) => [...(p.text as { body: string }).body].length <= 4096));
  const [card] = render({
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

type Interactive = {
  type: string;
  header?: unknown;
  body: { text: string };
  action: {
    buttons?: { reply: { id: string; title: string } }[];
    sections?: { rows: { id: string; title: string; description?: string }[] }[];
    button?: string;
  };
};
const interactive = (m: WaMessage | undefined) => {
  assert.equal(m?.type, "interactive");
  return m!.interactive as Interactive;
};
const choices = (n: number, title = (i: number) => `C${i}`) =>
  Array.from({ length: n }, (_, i) => ({ title: title(i), payload: `p${i}` }));
const bodyOf = (m: WaMessage | undefined) => (m!.text as { body: string; preview_url: boolean }).body;

test("choices at the edges: 3 buttons of 20 characters; 4, or one of 21, make a list; 10 rows; 11 numbered text", () => {
  const three = render({ type: "text", text: "Pick", quickReplies: choices(3, (i) => `${i}`.repeat(20)) });
  assert.equal(three.length, 1);
  assert.deepEqual(interactive(three[0]), {
    type: "button",
    body: { text: "Pick" },
    action: {
      buttons: [0, 1, 2].map((i) => ({ type: "reply", reply: { id: `p${i}`, title: `${i}`.repeat(20) } })),
    },
  });
  const long = render({
    type: "text",
    text: "Pick",
    quickReplies: [
      { title: "short", payload: "s" },
      { title: "x".repeat(21), payload: "p" },
    ],
  });
  assert.equal(interactive(long[0]).type, "list", "one title too long for a button makes them all rows");
  const ten = render({ type: "text", text: "Pick", quickReplies: choices(10) });
  assert.deepEqual(interactive(ten[0]), {
    type: "list",
    body: { text: "Pick" },
    action: { button: "Choose", sections: [{ rows: choices(10).map((c) => ({ id: c.payload, title: c.title })) }] },
  });
  const four = render({ type: "text", text: "Pick", quickReplies: choices(4) });
  assert.equal(interactive(four[0]).type, "list");
  const eleven = render({ type: "text", text: "Pick", quickReplies: choices(11) });
  assert.deepEqual(eleven, [
    {
      type: "text",
      text: {
        body: `Pick\n\n${choices(11)
          .map((c, i) => `${i + 1}. ${c.title}`)
          .join("\n")}`,
        preview_url: false,
      },
    },
  ]);
  // Row titles: 24 fit whole; 25 are cut, with the whole title in the description.
  const rows = interactive(
    render({
      type: "text",
      text: "Pick",
      quickReplies: [
        { title: "r".repeat(24), payload: "a" },
        { title: "s".repeat(25), payload: "b" },
        { title: "t".repeat(100), payload: "c" },
        { title: "u", payload: "d" },
      ],
    })[0],
  ).action.sections![0]!.rows;
  assert.deepEqual(rows, [
    { id: "a", title: "r".repeat(24) },
    { id: "b", title: `${"s".repeat(23)}…`, description: "s".repeat(25) },
    { id: "c", title: `${"t".repeat(23)}…`, description: `${"t".repeat(71)}…` },
    { id: "d", title: "u" },
  ]);
});

test("the body of an interactive message: up to 1024 characters; longer text goes before it, and it is never empty", () => {
  const fits = "b".repeat(1024);
  const [one] = render({ type: "text", text: fits, quickReplies: choices(2) });
  assert.equal(interactive(one).body.text, fits);
  const over = `${fits}b`;
  const two = render({ type: "text", text: over, quickReplies: choices(2) });
  assert.deepEqual(two[0], { type: "text", text: { body: over, preview_url: false } });
  assert.equal(interactive(two[1]).body.text, "Choose one:");
  const words = "word ".repeat(1000).trim();
  const split = render({
    type: "buttons",
    text: words,
    buttons: [{ type: "postback", title: "OK", payload: "ok" }],
  });
  assert.deepEqual(
    split.map((m) => m.type),
    ["text", "interactive"],
  );
  assert.equal(`${bodyOf(split[0])} ${interactive(split[1]).body.text}`, words, "the last part is the body");
  assert.ok(split.every((m) => m.type !== "text" || [...bodyOf(m)].length <= 4096));
  const empty = render({ type: "text", text: "", quickReplies: choices(2) });
  assert.equal(empty.length, 1);
  assert.equal(interactive(empty[0]).body.text, "Choose one:");
});

test("links: one short link is a CTA button; more links, or long ones, go in the text beside any choices", () => {
  const link = (title: string, url = "https://t.example/1") => ({ type: "url" as const, title, url });
  assert.deepEqual(render({ type: "buttons", text: "", buttons: [link("Track")] }), [
    {
      type: "interactive",
      interactive: {
        type: "cta_url",
        body: { text: "Track" },
        action: { name: "cta_url", parameters: { display_text: "Track", url: "https://t.example/1" } },
      },
    },
  ]);
  assert.equal(
    interactive(render({ type: "buttons", text: "x".repeat(1024), buttons: [link("t".repeat(20))] })[0]).type,
    "cta_url",
  );
  const asText = (text: string, title: string) => render({ type: "buttons", text, buttons: [link(title)] });
  assert.deepEqual(asText("x".repeat(1025), "Track"), [
    { type: "text", text: { body: `${"x".repeat(1025)}\nTrack: https://t.example/1`, preview_url: true } },
  ]);
  assert.deepEqual(asText("Go", "t".repeat(21)), [
    { type: "text", text: { body: `Go\n${"t".repeat(21)}: https://t.example/1`, preview_url: true } },
  ]);
  assert.deepEqual(render({ type: "buttons", text: "", buttons: [link("A"), link("B", "http://b.example")] }), [
    { type: "text", text: { body: "A: https://t.example/1\nB: http://b.example", preview_url: true } },
  ]);
  const mixed = render({
    type: "buttons",
    text: "Your order",
    buttons: [link("Track"), { type: "postback", title: "Cancel", payload: "cancel" }],
  });
  assert.deepEqual(interactive(mixed[0]), {
    type: "button",
    body: { text: "Your order\nTrack: https://t.example/1" },
    action: { buttons: [{ type: "reply", reply: { id: "cancel", title: "Cancel" } }] },
  });
  assert.deepEqual(render({ type: "text", text: "see http://x.example" }), [
    { type: "text", text: { body: "see http://x.example", preview_url: true } },
  ]);
});

test("cards: an image header on buttons, a captioned image without, plain text with no image", () => {
  const image = "https://img.example/s.jpg";
  const header = { type: "image", image: { link: image } };
  assert.deepEqual(
    render({
      type: "cards",
      cards: [{ title: "Shoe", imageUrl: image, buttons: [{ type: "url", title: "Buy", url: "https://b.example" }] }],
    }),
    [
      {
        type: "interactive",
        interactive: {
          type: "cta_url",
          header,
          body: { text: "*Shoe*" },
          action: { name: "cta_url", parameters: { display_text: "Buy", url: "https://b.example" } },
        },
      },
    ],
  );
  assert.deepEqual(
    render({
      type: "cards",
      cards: [
        {
          title: "Shoe",
          subtitle: "€49",
          imageUrl: image,
          buttons: [
            { type: "url", title: "A", url: "https://a.example" },
            { type: "url", title: "B", url: "https://b.example" },
          ],
        },
      ],
    }),
    [{ type: "image", image: { link: image, caption: "*Shoe*\n€49\nA: https://a.example\nB: https://b.example" } }],
  );
  const [captioned] = render({
    type: "cards",
    cards: [{ title: "Shoe", subtitle: "s".repeat(2000), imageUrl: image }],
  });
  const caption = (captioned!.image as { caption: string }).caption;
  assert.deepEqual([captioned!.type, [...caption].length, caption.startsWith("*Shoe*\ns")], ["image", 1024, true]);
  assert.deepEqual(render({ type: "cards", cards: [{ title: "Shoe" }, { title: "Hat", subtitle: "red" }] }), [
    { type: "text", text: { body: "*Shoe*", preview_url: false } },
    { type: "text", text: { body: "*Hat*\nred", preview_url: false } },
  ]);
  assert.deepEqual(
    render({ type: "cards", cards: [{ title: "Shoe", buttons: [] }] }),
    [{ type: "text", text: { body: "*Shoe*", preview_url: false } }],
    "an empty button list is no buttons",
  );
});

test("images, custom payloads and templates without components", () => {
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.jpg" }), [
    { type: "image", image: { link: "https://img.example/a.jpg" } },
  ]);
  const [captioned] = render({ type: "image", url: "https://img.example/a.jpg", caption: "😀".repeat(1100) });
  assert.equal([...(captioned!.image as { caption: string }).caption].length, 1024);
  const custom = { type: "location", location: { latitude: 1, longitude: 2 } };
  assert.deepEqual(render({ type: "custom", channel: "whatsapp", payload: custom }), [custom]);
  assert.deepEqual(render({ type: "custom", channel: "messenger", payload: custom }), []);
  assert.deepEqual(render({ type: "template", name: "hello_world", language: "en_US" }), [
    { type: "template", template: { name: "hello_world", language: { code: "en_US" } } },
  ]);
});
