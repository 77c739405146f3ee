import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { render } from "../src/index.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

test("rendering follows Messenger's limits and matches its documented shapes", () => {
  assert.deepEqual(render({ type: "text", text: "Hello!" }), [fixture("outbound_text.json").message]);
  const [template] = render({
    type: "buttons",
    text: "What do you want to do next?",
    buttons: [
      { type: "url", title: "Visit Messenger", url: "https://www.messenger.com" },
      { type: "url", title: "Visit Facebook", url: "https://www.facebook.com" },
    ],
  });
  assert.deepEqual(template, fixture("outbound_button_template.json").message);
  const quick = render({
    type: "text",
    text: "Pick",
    quickReplies: Array.from({ length: 15 }, (_, i) => ({ title: `A very long quick reply ${i}`, payload: `q${i}` })),
  });
  const replies = quick[0]!.quick_replies as { title: string }[];
  assert.equal(replies.length, 13);
  assert.ok(replies.every((r) => [...r.title].length <= 20));
  const cards = render({
    type: "cards",
    cards: Array.from({ length: 12 }, (_, i) => ({
      title: `Card ${i}`,
      buttons: [{ type: "postback" as const, title: "Buy", payload: `b${i}` }],
    })),
  });
  assert.equal(cards.length, 2, "ten elements per carousel");
  const five = render({
    type: "buttons",
    text: "Choose",
    buttons: Array.from({ length: 5 }, (_, i) => ({ type: "postback" as const, title: `Opt ${i}`, payload: `o${i}` })),
  });
  assert.equal((five[0]!.quick_replies as unknown[]).length, 5, "more than three postbacks become quick replies");
});

test("buttons at Messenger's edges: 3 in a template of up to 640 characters; beyond, quick replies or more templates", () => {
  const postbacks = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ type: "postback" as const, title: `Opt ${i}`, payload: `o${i}` }));
  const links = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ type: "url" as const, title: `Link ${i}`, url: `https://l.example/${i}` }));
  const template = (text: string, buttons: unknown[]) => ({
    attachment: { type: "template", payload: { template_type: "button", text, buttons } },
  });
  const asButtons = (bs: ReturnType<typeof postbacks>) =>
    bs.map((b) => ({ type: "postback", title: b.title, payload: b.payload }));
  assert.deepEqual(render({ type: "buttons", text: "t".repeat(640), buttons: postbacks(3) }), [
    template("t".repeat(640), asButtons(postbacks(3))),
  ]);
  const quick = (text: string, n: number) => [
    {
      text,
      quick_replies: postbacks(n).map((b) => ({ content_type: "text", title: b.title, payload: b.payload })),
    },
  ];
  assert.deepEqual(
    render({ type: "buttons", text: "t".repeat(641), buttons: postbacks(3) }),
    quick("t".repeat(641), 3),
  );
  assert.deepEqual(render({ type: "buttons", text: "Pick", buttons: postbacks(13) }), quick("Pick", 13));
  // Fourteen postbacks, or links that cannot be quick replies: the text, then templates of three.
  const many = render({ type: "buttons", text: "Pick", buttons: postbacks(14) });
  assert.deepEqual(many, [
    { text: "Pick" },
    ...[0, 3, 6, 9, 12].map((from) => template("More options:", asButtons(postbacks(14).slice(from, from + 3)))),
  ]);
  assert.deepEqual(
    render({ type: "buttons", text: "Go", buttons: links(6) }).map((m) => m.text ?? "template"),
    ["Go", "template", "template"],
    "six links: two templates, none empty",
  );
  const mixed = render({ type: "buttons", text: "Go", buttons: [...links(4), ...postbacks(1)] });
  assert.deepEqual(
    mixed.map((m) => (m.attachment as { payload: { buttons: unknown[] } } | undefined)?.payload.buttons.length ?? 0),
    [0, 3, 2],
  );
  const long = "x".repeat(30);
  const [truncated] = render({
    type: "buttons",
    text: "Go",
    buttons: [{ type: "url", title: long, url: "https://x.example" }],
  });
  assert.deepEqual(
    truncated,
    template("Go", [{ type: "web_url", url: "https://x.example", title: `${"x".repeat(19)}…` }]),
  );
  // Buttons and quick replies always have words beside them; no buttons is plain text.
  assert.deepEqual(render({ type: "buttons", text: " ", buttons: postbacks(1) }), [
    template("Choose one:", asButtons(postbacks(1))),
  ]);
  assert.deepEqual(render({ type: "buttons", text: "", buttons: postbacks(1) }), [
    template("Choose one:", asButtons(postbacks(1))),
  ]);
  assert.deepEqual(render({ type: "text", text: " ", quickReplies: [{ title: "Yes", payload: "y" }] }), [
    { text: "Choose one:", quick_replies: [{ content_type: "text", title: "Yes", payload: "y" }] },
  ]);
  assert.deepEqual(render({ type: "buttons", text: "Hi", buttons: [] }), [{ text: "Hi" }]);
  // Long text: 2000 characters a message, the quick replies on the last.
  const parts = render({
    type: "text",
    text: "word ".repeat(1000),
    quickReplies: [{ title: "OK", payload: "ok" }],
  });
  assert.equal(parts.length, 3);
  assert.ok(parts.every((p) => [...String(p.text)].length <= 2000));
  assert.deepEqual(
    parts.map((p) => "quick_replies" in p),
    [false, false, true],
  );
});

test("cards, images, custom payloads and templates", () => {
  const [carousel] = render({
    type: "cards",
    cards: [
      {
        title: "T".repeat(100),
        subtitle: "S".repeat(100),
        imageUrl: "https://img.example/a.jpg",
        buttons: Array.from({ length: 4 }, (_, i) => ({ type: "postback" as const, title: `B${i}`, payload: `b${i}` })),
      },
      { title: "Plain" },
      { title: "No buttons", buttons: [] },
    ],
  });
  assert.deepEqual(carousel, {
    attachment: {
      type: "template",
      payload: {
        template_type: "generic",
        elements: [
          {
            title: `${"T".repeat(79)}…`,
            subtitle: `${"S".repeat(79)}…`,
            image_url: "https://img.example/a.jpg",
            buttons: [0, 1, 2].map((i) => ({ type: "postback", title: `B${i}`, payload: `b${i}` })),
          },
          { title: "Plain" },
          { title: "No buttons" },
        ],
      },
    },
  });
  const ten = Array.from({ length: 10 }, (_, i) => ({ title: `Card ${i}` }));
  assert.equal(render({ type: "cards", cards: ten }).length, 1, "ten cards fit one carousel");
  const eleven = render({ type: "cards", cards: [...ten, { title: "Card 10" }] });
  assert.deepEqual(
    eleven.map((c) =>
      (c.attachment as { payload: { elements: { title: string }[] } }).payload.elements.map((e) => e.title),
    ),
    [ten.map((c) => c.title), ["Card 10"]],
  );
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.jpg" }), [
    { attachment: { type: "image", payload: { url: "https://img.example/a.jpg", is_reusable: true } } },
  ]);
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.jpg", caption: "Your parcel" })[1], {
    text: "Your parcel",
  });
  const custom = { text: "raw", metadata: "m" };
  assert.deepEqual(render({ type: "custom", channel: "messenger", payload: custom }), [custom]);
  assert.deepEqual(render({ type: "custom", channel: "whatsapp", payload: custom }), []);
  assert.deepEqual(render({ type: "template", name: "order_update", language: "en" }), []);
});
