import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { HttpError } from "@cb/core";
import { normalize, setup, userHash, visitorOf } from "../src/index.ts";

const SECRET = "identity-secret-0123456789";
const bearer = (userId: string, hash: string) => `Bearer u.${Buffer.from(userId).toString("base64url")}.${hash}`;

test("the user hash is what the README's openssl line computes", () => {
  const expected = execFileSync("openssl", ["dgst", "-sha256", "-hmac", SECRET], { input: "42" })
    .toString()
    .trim()
    .split(" ")
    .at(-1);
  assert.equal(userHash(SECRET, "42"), expected);
});

test("identified visitors: the right hash names the user; a wrong one, or another user's, is refused", () => {
  assert.deepEqual(visitorOf(bearer("42", userHash(SECRET, "42")), { identitySecret: SECRET }), {
    externalId: "user:42",
    userId: "42",
  });
  for (const wrong of [userHash("other secret", "42"), userHash(SECRET, "43")]) {
    assert.throws(
      () => visitorOf(bearer("42", wrong), { identitySecret: SECRET }),
      (err: unknown) => err instanceof HttpError && err.statusCode === 401 && !err.message.includes(SECRET),
    );
  }
});

test("anonymous visitors: the conversation is named by a hash of the token, never the token", () => {
  const token = "A".repeat(32);
  const visitor = visitorOf(`Bearer v.${token}`, { identitySecret: SECRET });
  assert.match(visitor.externalId, /^visitor:[A-Za-z0-9_-]{32}$/);
  assert.ok(!visitor.externalId.includes(token));
  assert.equal(visitorOf(`Bearer v.${token}`, { identitySecret: SECRET }).externalId, visitor.externalId);
  assert.notEqual(visitorOf(`Bearer v.${"B".repeat(32)}`, { identitySecret: SECRET }).externalId, visitor.externalId);
});

test("a post becomes one message of the visitor's own conversation, keyed by the widget's id", () => {
  const at = new Date("2026-12-06T12:00:00Z");
  const event = normalize(
    { externalId: "user:42" },
    { clientId: "abcdefgh", postback: { payload: "P", title: "Yes" } },
    at,
  );
  assert.deepEqual(event, {
    type: "message",
    message: {
      channel: "webchat",
      platformEventId: "user:42:abcdefgh",
      platformMessageId: "abcdefgh",
      conversation: { externalId: "user:42", type: "private" },
      sender: { externalId: "user:42" },
      sentAt: "2026-12-06T12:00:00.000Z",
      postback: { payload: "P", title: "Yes" },
    },
    raw: { clientId: "abcdefgh", postback: { payload: "P", title: "Yes" } },
  });
});

test("the setup names the script next to the account's URL", () => {
  assert.equal(
    setup("https://bot.example/webhooks/webchat/0000-1").snippet,
    '<script src="https://bot.example/webhooks/webchat/widget.js" data-account="0000-1" async></script>',
  );
});
