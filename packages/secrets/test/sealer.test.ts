import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createSealer, generateKey, parseKeyRing } from "../src/index.ts";

const b64key = (bytes = 32) => randomBytes(bytes).toString("base64");

test("sealed secrets open with the same ring and reveal nothing", () => {
  const sealer = createSealer(parseKeyRing(generateKey("k1")));
  const sealed = sealer.sealJson({ botToken: "123:SECRET" });
  assert.ok(!sealed.includes("SECRET"));
  assert.deepEqual(sealer.openJson(sealed), { botToken: "123:SECRET" });
  assert.notEqual(sealer.seal("x"), sealer.seal("x"), "a fresh IV each time");
  assert.equal(sealer.open(sealer.seal("héllo ✓")), "héllo ✓", "UTF-8 survives");
  assert.equal(sealer.open(sealer.seal("")), "");
});

test("the sealed format is v1.<keyId>.<iv>.<ciphertext>.<tag>, base64url, 12-byte IV and 16-byte tag", () => {
  const sealer = createSealer(parseKeyRing(generateKey("k1")));
  const parts = sealer.seal("token").split(".");
  assert.equal(parts.length, 5);
  const [version, id, iv, ct, tag] = parts as [string, string, string, string, string];
  assert.equal(version, "v1");
  assert.equal(id, "k1");
  for (const part of [iv, ct, tag]) assert.match(part, /^[A-Za-z0-9_-]+$/, "base64url, no padding");
  assert.equal(Buffer.from(iv, "base64url").length, 12);
  assert.equal(Buffer.from(ct, "base64url").length, "token".length, "GCM adds no padding");
  assert.equal(Buffer.from(tag, "base64url").length, 16);
});

test("rotation: old ciphertexts open, new ones use the newest key, stale ones are told apart", () => {
  const oldKey = generateKey("old");
  const oldSealer = createSealer(parseKeyRing(oldKey));
  const sealed = oldSealer.seal("token");
  const rotated = createSealer(parseKeyRing(`${generateKey("new")},${oldKey}`));
  assert.equal(rotated.open(sealed), "token");
  assert.ok(rotated.isStale(sealed));
  const fresh = rotated.seal("token");
  assert.equal(fresh.split(".")[1], "new", "the first key seals");
  assert.ok(!rotated.isStale(fresh));
  assert.throws(() => oldSealer.open(fresh), /unknown key "new"/, "a ring without the new key cannot open it");
  // Rotation finished: the old key dropped, re-sealed secrets still open.
  const [newKey] = parseKeyRing(`${generateKey("new")},${oldKey}`);
  const done = createSealer([newKey!]);
  assert.throws(() => done.open(sealed), /unknown key "old"/);
});

test("tampering is refused: ciphertext, tag, IV, and the key id (bound as additional data)", () => {
  const key = b64key();
  // The same key bytes under two ids: only the authenticated key id tells them apart.
  const sealer = createSealer(parseKeyRing(`a:${key},b:${key}`));
  const sealed = sealer.seal("token");
  assert.equal(sealer.open(sealed), "token");
  const flip = (part: string) => {
    const bytes = Buffer.from(part, "base64url");
    bytes[0]! ^= 1;
    return bytes.toString("base64url");
  };
  for (const index of [2, 3, 4]) {
    const parts = sealed.split(".");
    parts[index] = flip(parts[index]!);
    assert.throws(() => sealer.open(parts.join(".")), /authenticate/, `part ${index}`);
  }
  const renamed = sealed.split(".");
  renamed[1] = "b";
  assert.throws(() => sealer.open(renamed.join(".")), /authenticate/, "moved to another key id");
});

test("a ciphertext sealed with a key the ring does not hold is refused by name", () => {
  const sealed = createSealer(parseKeyRing(generateKey("k1"))).seal("token");
  assert.throws(() => createSealer(parseKeyRing(generateKey("k2"))).open(sealed), /unknown key "k1"/);
  assert.throws(
    () => createSealer(parseKeyRing(generateKey("k1"))).open(sealed),
    /authenticate/,
    "the same id with other key bytes does not open it",
  );
});

test("malformed sealed strings are refused before any decryption, each form on its own", () => {
  const sealer = createSealer(parseKeyRing(generateKey("k1")));
  const [, id, iv, ct, tag] = sealer.seal("token").split(".") as [string, string, string, string, string];
  const malformed = {
    "another version": ["v2", id, iv, ct, tag].join("."),
    "no version": ["", id, iv, ct, tag].join("."),
    "no key id": ["v1", "", iv, ct, tag].join("."),
    "no tag": ["v1", id, iv, ct].join("."),
    "no ciphertext nor tag": ["v1", id, iv].join("."),
    "no IV, ciphertext nor tag": ["v1", id].join("."),
    "a sixth part": ["v1", id, iv, ct, tag, tag].join("."),
    "plain text": "123:SECRET",
    empty: "",
  };
  for (const [form, sealed] of Object.entries(malformed))
    assert.throws(() => sealer.open(sealed), /^Error: not a sealed secret$/, form);
});

test("a key ring parses newest first, trims spaces and skips empty entries", () => {
  const [k1, k2] = [b64key(), b64key()];
  const ring = parseKeyRing(` new-key_2:${k1} ,, old:${k2},`);
  assert.deepEqual(
    ring.map((k) => k.id),
    ["new-key_2", "old"],
  );
  assert.deepEqual(ring[0]!.key, Buffer.from(k1, "base64"));
  assert.deepEqual(ring[1]!.key, Buffer.from(k2, "base64"));
  assert.ok(createSealer(ring).seal("x").startsWith("v1.new-key_2."));
});

test("a bad key ring is refused with the reason", () => {
  const key = b64key();
  const entry = /^Error: SECRETS_KEYS entries must be id:base64key$/;
  for (const spec of [`:${key}`, "k1", "k1:", `k.1:${key}`, `k 1:${key}`, `k/1:${key}`])
    assert.throws(() => parseKeyRing(spec), entry, spec);
  for (const bytes of [16, 31, 33])
    assert.throws(
      () => parseKeyRing(`k1:${b64key(bytes)}`),
      /^Error: SECRETS_KEYS key "k1" must be 32 bytes \(base64 of 32 random bytes\)$/,
      `${bytes} bytes`,
    );
  for (const spec of ["", " , ,"]) assert.throws(() => parseKeyRing(spec), /^Error: SECRETS_KEYS holds no key$/, spec);
  assert.throws(() => createSealer([]), /at least one key/);
});

test("generated keys are fresh 32-byte keys in the SECRETS_KEYS format", () => {
  const spec = generateKey("k1");
  const [key] = parseKeyRing(spec);
  assert.equal(key!.id, "k1");
  assert.equal(key!.key.length, 32);
  assert.notDeepEqual(parseKeyRing(generateKey("k1"))[0]!.key, key!.key);
});
