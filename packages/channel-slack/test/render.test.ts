import { test } from "node:test";
import assert from "node:assert/strict";
import { render } from "../src/index.ts";

test("Block Kit rendering within Slack's limits", () => {
  const [m] = render({
    type: "buttons",
    text: "Pick <one> & go",
    buttons: [
      { type: "postback", title: "Track", payload: "TRACK" },
      { type: "url", title: "Site", url: "https://shop.example" },
    ],
  });
  assert.deepEqual(m!.blocks, [
    { type: "section", text: { type: "mrkdwn", text: "Pick &lt;one&gt; &amp; go" } },
    {
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Track", emoji: true },
          action_id: "reply_0",
          value: "TRACK",
        },
        {
          type: "button",
          text: { type: "plain_text", text: "Site", emoji: true },
          action_id: "reply_1",
          url: "https://shop.example",
        },
      ],
    },
  ]);
  const long = render({
    type: "text",
    text: "word ".repeat(1500),
    quickReplies: Array.from({ length: 30 }, (_, i) => ({ title: `Option ${i}`, payload: `o${i}` })),
  });
  const blocks = long.flatMap((x) => x.blocks ?? []);
  assert.equal(blocks.filter((b) => b.type === "section").length, 3);
  assert.deepEqual(
    blocks.filter((b) => b.type === "actions").map((b) => (b.elements as unknown[]).length),
    [25, 5],
  );
});

test("escaping never pushes a section past 3,000 characters or splits an entity", () => {
  const wholeEntities = /^([^&]|&amp;|&lt;|&gt;)*$/;
  const text = "a <b> & c ".repeat(900);
  const sections = render({ type: "text", text })
    .flatMap((m) => m.blocks ?? [])
    .map((b) => (b.text as { text: string }).text);
  assert.ok(sections.length > 3);
  for (const t of sections)
    assert.ok(t.length <= 3000 && wholeEntities.test(t), `${t.length} characters, ends ${t.slice(-8)}`);
  const unescapeHtml = (t: string) => t.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  assert.equal(
    sections.map(unescapeHtml).join(" ").replace(/\s+/g, " "),
    text.trim().replace(/\s+/g, " "),
    "nothing lost",
  );

  const [card] = render({ type: "cards", cards: [{ title: "R&D", subtitle: "<&>".repeat(2000) }] });
  const cardText = (card!.blocks![0]!.text as { text: string }).text;
  assert.ok(
    cardText.startsWith("*R&amp;D*\n") &&
      cardText.endsWith("…") &&
      cardText.length <= 3000 &&
      wholeEntities.test(cardText.slice(0, -1)),
  );
});

test("cards, images, custom payloads and templates", () => {
  const [cards] = render({
    type: "cards",
    cards: [
      {
        title: "Blue shoe",
        subtitle: "Size 42",
        imageUrl: "https://shop.example/blue.png",
        buttons: [{ type: "postback", title: "Buy", payload: "BUY_BLUE" }],
      },
      { title: "Red shoe" },
    ],
  });
  assert.deepEqual(cards, {
    text: "Blue shoe, Red shoe",
    blocks: [
      {
        type: "section",
        text: { type: "mrkdwn", text: "*Blue shoe*\nSize 42" },
        accessory: { type: "image", image_url: "https://shop.example/blue.png", alt_text: "Blue shoe" },
      },
      {
        type: "actions",
        elements: [
          {
            type: "button",
            text: { type: "plain_text", text: "Buy", emoji: true },
            action_id: "reply_0",
            value: "BUY_BLUE",
          },
        ],
      },
      { type: "divider" },
      { type: "section", text: { type: "mrkdwn", text: "*Red shoe*" } },
    ],
  });
  assert.deepEqual(render({ type: "image", url: "https://shop.example/a.png", caption: "Your parcel" }), [
    {
      text: "Your parcel",
      blocks: [
        {
          type: "image",
          image_url: "https://shop.example/a.png",
          alt_text: "Your parcel",
          title: { type: "plain_text", text: "Your parcel" },
        },
      ],
    },
  ]);
  const custom = { blocks: [{ type: "header", text: { type: "plain_text", text: "Hi" } }], text: "Hi" };
  assert.deepEqual(render({ type: "custom", channel: "slack", payload: custom }), [custom]);
  assert.deepEqual(
    render({ type: "custom", channel: "telegram", payload: { text: "x" } }),
    [],
    "another channel's payload is not for Slack",
  );
  assert.deepEqual(
    render({ type: "template", name: "order_update", language: "en" }),
    [],
    "WhatsApp templates have no Slack form",
  );
});

test("limits at their edges: a full section, a full card, 2000-character values, 50 blocks a message", () => {
  const full = render({ type: "text", text: "a".repeat(3000) });
  assert.deepEqual(
    full.map((m) => m.blocks!.map((b) => (b.text as { text: string }).text.length)),
    [[3000]],
  );
  // "*TT*\n" and 599 "&amp;": 3000 characters once escaped.
  const [card] = render({ type: "cards", cards: [{ title: "TT", subtitle: "&".repeat(599) }] });
  const cardText = (card!.blocks![0]!.text as { text: string }).text;
  assert.equal(cardText.length, 3000);
  assert.ok(!cardText.endsWith("…"), "exactly at the limit, nothing is cut");
  const value = "v".repeat(2000);
  assert.equal(
    (
      render({ type: "buttons", text: "x", buttons: [{ type: "postback", title: "V", payload: value }] })[0]!
        .blocks![1]!.elements as { value: string }[]
    )[0]!.value,
    value,
  );
  assert.throws(
    () => render({ type: "buttons", text: "x", buttons: [{ type: "postback", title: "V", payload: `${value}v` }] }),
    /2000 characters/,
  );
  // 25 cards: 25 sections, 24 dividers and one actions block, exactly 50.
  const cards = Array.from({ length: 25 }, (_, i) => ({
    title: `Card ${i}`,
    ...(i === 0 ? { buttons: [{ type: "postback" as const, title: "Buy", payload: "buy" }] } : {}),
  }));
  assert.deepEqual(
    render({ type: "cards", cards }).map((m) => m.blocks!.length),
    [50],
  );
  const more = render({ type: "cards", cards: [...cards, { title: "Card 25" }, { title: "Card 26" }] });
  assert.deepEqual(
    more.map((m) => m.blocks!.length),
    [50, 4],
  );
  assert.deepEqual(more[1]!.blocks!.at(-1), { type: "section", text: { type: "mrkdwn", text: "*Card 26*" } });
  assert.equal(more[1]!.text, more[0]!.text, "each message carries the fallback text");
  const long = "b".repeat(80);
  const [button] = render({
    type: "buttons",
    text: "x",
    buttons: [{ type: "url", title: long, url: "https://x.example" }],
  })[0]!.blocks![1]!.elements as { text: { text: string } }[];
  assert.equal([...button!.text.text].length, 75);
  const [image] = render({ type: "image", url: "https://img.example/a.png", caption: "c".repeat(2500) });
  const block = image!.blocks![0] as { alt_text: string; title: { text: string } };
  assert.deepEqual([block.alt_text.length, block.title.text.length, image!.text.length], [2000, 2000, 2500]);
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.png" }), [
    {
      text: "https://img.example/a.png",
      blocks: [{ type: "image", image_url: "https://img.example/a.png", alt_text: "image" }],
    },
  ]);
  assert.deepEqual(render({ type: "custom", channel: "slack", payload: { blocks: [] } }), [{ text: "", blocks: [] }]);
  const [bare] = render({
    type: "buttons",
    text: "",
    buttons: [{ type: "postback", title: "Go", payload: "go" }],
  });
  assert.equal(bare!.text, " ", "a notification text even when there are only buttons");
  assert.deepEqual(
    bare!.blocks!.map((b) => b.type),
    ["actions"],
  );
});
