import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChannelAccount, InboundEvent } from "@cb/core";
import Fastify, { type FastifyInstance } from "fastify";
import { hubSignature, hubSignatureValid, metaWebhook } from "../src/index.ts";

const account: ChannelAccount = {
  id: "acc-1",
  tenantId: "t",
  channel: "messenger",
  config: {},
  secrets: { appSecret: "app-secret", verifyToken: "verify-me" },
};
const normalized: { body: unknown; account: ChannelAccount }[] = [];
const ingested: { account: ChannelAccount; events: InboundEvent[] }[] = [];
let failIngest = false;
let app: FastifyInstance;

before(async () => {
  app = Fastify();
  await app.register(
    metaWebhook({
      object: "page",
      channel: "Messenger",
      // One read event per entry: enough to see what reaches ingest.
      normalize: (body, found) => {
        normalized.push({ body, account: found });
        return ((body as { entry?: { id: string }[] }).entry ?? []).map((e) => ({
          type: "read",
          read: { channel: "messenger", conversationExternalId: e.id, upTo: "2026-11-30T00:00:00.000Z" },
          raw: e,
        }));
      },
    }),
    {
      prefix: "/hook",
      loadAccount: async (id) => (id === account.id ? account : null),
      ingest: async (found, events) => {
        if (failIngest) throw new Error("database down");
        ingested.push({ account: found, events });
      },
    },
  );
});
after(() => app.close());

test("X-Hub-Signature-256 is HMAC-SHA256 of the raw bytes under the app secret, as sha256=<hex>", () => {
  const body = Buffer.from('{"object":"page","entry":[]}');
  // Computed independently: printf '%s' '{"object":"page","entry":[]}' | openssl dgst -sha256 -hmac app-secret
  const expected = "sha256=e6e9d7a842a48e17f43a34d6125d0d933e2aab92ee37f0993a4d493b50e3d438";
  assert.equal(hubSignature(body, "app-secret"), expected);
  assert.ok(hubSignatureValid(body, expected, "app-secret"));
  assert.equal(hubSignature(body, "app-secret"), hubSignature(body.toString(), "app-secret"), "bytes or text alike");
  const signature = hubSignature(body, "app-secret");
  assert.ok(hubSignatureValid(body, signature, "app-secret"));
  assert.ok(hubSignatureValid(body, signature.toUpperCase().replace("SHA256=", "sha256="), "app-secret"), "hex case");
  const tampered = Buffer.from(body);
  tampered[2]! ^= 1;
  const refused: [string, Buffer, unknown, string][] = [
    ["a changed byte", tampered, signature, "app-secret"],
    ["another secret", body, signature, "other-secret"],
    ["no header", body, undefined, "app-secret"],
    ["a repeated header", body, [signature, signature], "app-secret"],
    ["another algorithm's prefix", body, signature.replace("sha256=", "sha1="), "app-secret"],
    ["another prefix of the same length", body, signature.replace("sha256=", "sha512="), "app-secret"],
    ["no prefix", body, signature.slice(7), "app-secret"],
    ["a truncated digest", body, signature.slice(0, -2), "app-secret"],
    ["an empty digest", body, "sha256=", "app-secret"],
    ["not hex", body, `sha256=${"z".repeat(64)}`, "app-secret"],
  ];
  for (const [name, raw, header, secret] of refused)
    assert.equal(hubSignatureValid(raw, header as string, secret), false, name);
});

const challenge = (query: string, id = account.id) => app.inject({ method: "GET", url: `/hook/${id}?${query}` });

test("the verification handshake answers the challenge only for hub.mode=subscribe and the account's verify token", async () => {
  const ok = await challenge("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444");
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.body, "1158201444");
  assert.match(String(ok.headers["content-type"]), /^text\/plain/);
  const empty = await challenge("hub.mode=subscribe&hub.verify_token=verify-me");
  assert.equal(empty.statusCode, 200);
  assert.equal(empty.body, "", "no challenge: an empty answer");
  for (const query of [
    "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
    "hub.verify_token=verify-me&hub.challenge=1",
    "hub.mode=subscribe&hub.verify_token=verify-mE&hub.challenge=1",
    "hub.mode=subscribe&hub.verify_token=verify-me-too&hub.challenge=1",
    "hub.mode=subscribe&hub.challenge=1",
    "hub.mode=subscribe&hub.verify_token=verify-me&hub.verify_token=verify-me&hub.challenge=1",
  ]) {
    const refused = await challenge(query);
    assert.equal(refused.statusCode, 403, query);
    assert.equal(refused.json().code, "verification_failed", query);
    assert.equal(refused.json().message, "hub.mode must be subscribe and hub.verify_token must match");
    assert.ok(!refused.body.includes("1158201444") && !refused.body.includes("verify-me"), "nothing echoed");
  }
  const unknown = await challenge("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1", "acc-2");
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, "unknown_account");
  assert.equal(unknown.json().message, "no Messenger account is connected at this URL");
});

const post = (body: string, headers: Record<string, string | string[]> = {}, id = account.id) =>
  app.inject({
    method: "POST",
    url: `/hook/${id}`,
    headers: {
      "content-type": "application/json",
      "x-hub-signature-256": hubSignature(body, "app-secret"),
      ...headers,
    },
    payload: body,
  });

test("a signed event is parsed, normalized with its account and ingested before it is acknowledged", async () => {
  normalized.length = 0;
  ingested.length = 0;
  // Spacing kept as sent: the signature is over these bytes, not a re-serialization.
  const body = '{ "object": "page", "entry": [ { "id": "e1" }, { "id": "e2" } ] }';
  const response = await post(body);
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { ok: true });
  assert.deepEqual(normalized, [{ body: JSON.parse(body), account }]);
  assert.equal(ingested.length, 1);
  assert.equal(ingested[0]!.account, account);
  assert.deepEqual(
    ingested[0]!.events.map((e) => (e.type === "read" ? e.read.conversationExternalId : e.type)),
    ["e1", "e2"],
  );

  const nothing = await post('{"object":"page","entry":[]}');
  assert.equal(nothing.statusCode, 200);
  assert.equal(ingested.length, 1, "no events: nothing ingested");

  failIngest = true;
  const failed = await post(body);
  failIngest = false;
  assert.equal(failed.statusCode, 500, "not acknowledged when storing failed: Meta delivers it again");
});

test("a POST without a valid signature is refused before its body is looked at", async () => {
  normalized.length = 0;
  const body = '{"object":"page","entry":[{"id":"e1"}]}';
  const cases: [string, Record<string, string | string[]>][] = [
    ["no signature", { "x-hub-signature-256": "" }],
    ["another secret's", { "x-hub-signature-256": hubSignature(body, "other") }],
    ["another body's", { "x-hub-signature-256": hubSignature(`${body} `, "app-secret") }],
    ["not JSON content", { "content-type": "text/plain" }],
  ];
  for (const [name, headers] of cases) {
    const response = await post(body, headers);
    assert.equal(response.statusCode, 401, name);
    assert.equal(response.json().code, "invalid_signature", name);
    assert.equal(response.json().message, "missing or wrong X-Hub-Signature-256");
  }
  const notJson = await post("{not json", { "x-hub-signature-256": "sha256=00" });
  assert.equal(notJson.statusCode, 401, "the signature first, even for garbage");
  assert.equal(normalized.length, 0);
  const unknown = await post(body, {}, "acc-2");
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().code, "unknown_account");
});

test("a signed body that is not JSON, or is another product's, is a 400", async () => {
  normalized.length = 0;
  const wrongObject = 'expected object "page"';
  for (const [body, code, message] of [
    ["{not json", "invalid_json", "the body is not valid JSON"],
    ['{"object":"whatsapp_business_account","entry":[]}', "invalid_payload", wrongObject],
    ["{}", "invalid_payload", wrongObject],
    ["null", "invalid_payload", wrongObject],
    ["[]", "invalid_payload", wrongObject],
  ] as const) {
    const response = await post(body);
    assert.equal(response.statusCode, 400, body);
    assert.equal(response.json().code, code, body);
    assert.equal(response.json().message, message, body);
  }
  assert.equal(normalized.length, 0);
});
