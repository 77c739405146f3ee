import { test } from "node:test";
import assert from "node:assert/strict";
import { splitText } from "@cb/core";
import { renderReply, escapeHtml } from "../src/index.ts";

test("text is HTML-escaped and buttons become an inline keyboard", () => {
  const [call] = renderReply({
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
  const calls = renderReply({ type: "text", text: words, quickReplies: [{ title: "OK", payload: "ok" }] });
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
  const [photo] = renderReply({
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
  assert.equal(photo?.method, "sendPhoto");
  assert.equal(photo?.params.caption, "<b>Blue shoes</b>\n€49");
  assert.deepEqual(renderReply({ type: "template", name: "order_update", language: "en" }), []);
  assert.throws(
    () =>
      renderReply({
        type: "buttons",
        text: "x",
        buttons: [{ type: "postback", title: "Too long", payload: "x".repeat(65) }],
      }),
    /64 bytes/,
  );
  assert.equal(escapeHtml("<b>"), "&lt;b&gt;");
});
