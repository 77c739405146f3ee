import { test } from "node:test";
import assert from "node:assert/strict";
import { splitText } from "@cb/core";
import { render, escapeHtml } from "../src/index.ts";

test("text is HTML-escaped and buttons become an inline keyboard", () => {
  const [call] = render({
    type: "buttons",
    text: "Order <42> & co",
    buttons: [
      { type: "postback", title: "Track", payload: "track:42" },
      { type: "url", title: "Site", url: "https://shop.example" },
    ],
  });
  assert.deepEqual(call, {
    method: "sendMessage",
    params: {
      text: "Order &lt;42&gt; &amp; co",
      parse_mode: "HTML",
      reply_markup: {
        inline_keyboard: [
          [{ text: "Track", callback_data: "track:42" }],
          [{ text: "Site", url: "https://shop.example" }],
        ],
      },
    },
  });
});

test("long text is split at word boundaries within 4096 characters, the keyboard on the last part", () => {
  const words = Array.from({ length: 1500 }, (_, i) => `word${i}`).join(" ");
  const calls = render({ type: "text", text: words, quickReplies: [{ title: "OK", payload: "ok" }] });
  assert.ok(calls.length >= 3);
  const texts = calls.map((c) => String(c.params.text));
  for (const t of texts) assert.ok(t.length <= 4096 && !t.startsWith(" ") && !t.endsWith(" "));
  assert.equal(texts.join(" "), words, "nothing lost, no word broken");
  assert.ok(calls.at(-1)!.params.reply_markup);
  assert.ok(!calls[0]!.params.reply_markup);
  assert.deepEqual(
    splitText("a".repeat(5000), 4096).map((s) => s.length),
    [4096, 904],
    "a word longer than the limit is cut",
  );
});

test("cards with an image become a photo with caption; templates are skipped; oversized callback data is refused", () => {
  const [photo] = render({
    type: "cards",
    cards: [
      {
        title: "Blue shoes",
        subtitle: "€49",
        imageUrl: "https://img.example/shoe.jpg",
        buttons: [{ type: "postback", title: "Buy", payload: "buy:shoe" }],
      },
    ],
  });
  assert.deepEqual(photo, {
    method: "sendPhoto",
    params: {
      photo: "https://img.example/shoe.jpg",
      caption: "<b>Blue shoes</b>\n€49",
      parse_mode: "HTML",
      reply_markup: { inline_keyboard: [[{ text: "Buy", callback_data: "buy:shoe" }]] },
    },
  });
  assert.deepEqual(render({ type: "template", name: "order_update", language: "en" }), []);
  assert.throws(
    () =>
      render({
        type: "buttons",
        text: "x",
        buttons: [{ type: "postback", title: "Too long", payload: "x".repeat(65) }],
      }),
    /64 bytes/,
  );
  assert.equal(escapeHtml("<b>"), "&lt;b&gt;");
});

test("callback data may use all 64 bytes, counted in bytes, not characters", () => {
  const [ok] = render({
    type: "buttons",
    text: "x",
    buttons: [{ type: "postback", title: "Max", payload: "x".repeat(64) }],
  });
  assert.deepEqual(ok!.params.reply_markup, { inline_keyboard: [[{ text: "Max", callback_data: "x".repeat(64) }]] });
  // 22 characters, 66 bytes.
  assert.throws(
    () => render({ type: "buttons", text: "x", buttons: [{ type: "postback", title: "€", payload: "€".repeat(22) }] }),
    /64 bytes/,
  );
  assert.deepEqual(render({ type: "text", text: "plain" }), [
    { method: "sendMessage", params: { text: "plain", parse_mode: "HTML" } },
  ]);
  assert.deepEqual(
    render({ type: "buttons", text: " ", buttons: [{ type: "postback", title: "Yes", payload: "y" }] }),
    [
      {
        method: "sendMessage",
        params: {
          text: "Choose one:",
          parse_mode: "HTML",
          reply_markup: { inline_keyboard: [[{ text: "Yes", callback_data: "y" }]] },
        },
      },
    ],
    "buttons with no text still go out",
  );
  assert.deepEqual(render({ type: "text", text: "" }), [], "nothing to say, nothing sent");
  assert.deepEqual(render({ type: "buttons", text: "no buttons", buttons: [] }), [
    { method: "sendMessage", params: { text: "no buttons", parse_mode: "HTML" } },
  ]);
  assert.deepEqual(
    render({ type: "text", text: "Sure?", quickReplies: [{ title: "Yes", payload: "y" }] })[0]!.params.reply_markup,
    { inline_keyboard: [[{ text: "Yes", callback_data: "y" }]] },
    "quick replies are inline buttons too",
  );
});

test("cards: a photo with the card as caption while it fits 1024 characters, else the photo then the text", () => {
  const title = "Blue <shoes>";
  assert.deepEqual(render({ type: "cards", cards: [{ title, imageUrl: "https://img.example/a.jpg" }] }), [
    {
      method: "sendPhoto",
      params: { photo: "https://img.example/a.jpg", caption: "<b>Blue &lt;shoes&gt;</b>", parse_mode: "HTML" },
    },
  ]);
  // Title, line break and subtitle exactly 1024 characters: still a caption.
  const fits = "s".repeat(1024 - title.length - 1);
  const [photo] = render({
    type: "cards",
    cards: [{ title, subtitle: fits, imageUrl: "https://img.example/a.jpg" }],
  });
  assert.equal(photo!.params.caption, `<b>Blue &lt;shoes&gt;</b>\n${fits}`);
  const long = `${fits}s`;
  assert.deepEqual(
    render({
      type: "cards",
      cards: [
        {
          title,
          subtitle: long,
          imageUrl: "https://img.example/a.jpg",
          buttons: [{ type: "postback", title: "Buy", payload: "buy" }],
        },
      ],
    }),
    [
      { method: "sendPhoto", params: { photo: "https://img.example/a.jpg" } },
      {
        method: "sendMessage",
        params: {
          text: `<b>Blue &lt;shoes&gt;</b>\n${long}`,
          parse_mode: "HTML",
          reply_markup: { inline_keyboard: [[{ text: "Buy", callback_data: "buy" }]] },
        },
      },
    ],
  );
  assert.deepEqual(render({ type: "cards", cards: [{ title: "A" }, { title: "B", subtitle: "b & c" }] }), [
    { method: "sendMessage", params: { text: "<b>A</b>", parse_mode: "HTML" } },
    { method: "sendMessage", params: { text: "<b>B</b>\nb &amp; c", parse_mode: "HTML" } },
  ]);
  // A subtitle longer than a whole message is shortened to fit one.
  const [, text] = render({
    type: "cards",
    cards: [{ title: "Terms", subtitle: "word ".repeat(2000), imageUrl: "https://img.example/a.jpg" }],
  });
  const visible = String(text!.params.text).replace(/<\/?b>/g, "");
  assert.ok([...visible].length <= 4096 && visible.endsWith("…"), `${[...visible].length} characters`);
});

test("images, custom payloads and templates", () => {
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.jpg" }), [
    { method: "sendPhoto", params: { photo: "https://img.example/a.jpg", parse_mode: "HTML" } },
  ]);
  assert.deepEqual(render({ type: "image", url: "https://img.example/a.jpg", caption: "<b>" }), [
    { method: "sendPhoto", params: { photo: "https://img.example/a.jpg", parse_mode: "HTML", caption: "&lt;b&gt;" } },
  ]);
  // Cut to 1024 characters without splitting an emoji (two UTF-16 units).
  const [long] = render({ type: "image", url: "https://img.example/a.jpg", caption: "😀".repeat(1500) });
  const caption = String(long!.params.caption);
  assert.equal([...caption].length, 1024);
  assert.ok(caption.isWellFormed() && caption.endsWith("…"));

  assert.deepEqual(
    render({
      type: "custom",
      channel: "telegram",
      payload: { method: "sendLocation", latitude: 1, longitude: 2 },
    }),
    [{ method: "sendLocation", params: { latitude: 1, longitude: 2 } }],
  );
  assert.deepEqual(render({ type: "custom", channel: "slack", payload: { method: "sendMessage" } }), []);
  assert.throws(() => render({ type: "custom", channel: "telegram", payload: { text: "x" } }), /"method"/);
});
