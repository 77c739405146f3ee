import { test } from "node:test";
import assert from "node:assert/strict";
import { createSealer, generateKey, parseKeyRing } from "../src/index.ts";

test("sealed secrets open with the same ring and reveal nothing", () => {
  const sealer = createSealer(parseKeyRing(generateKey("k1")));
  const sealed = sealer.sealJson({ botToken: "123:SECRET" });
  assert.ok(!sealed.includes("SECRET"));
  assert.deepEqual(sealer.openJson(sealed), { botToken: "123:SECRET" });
  assert.notEqual(sealer.seal("x"), sealer.seal("x"), "a fresh IV each time");
});

test("rotation: old ciphertexts open, new ones use the newest key", () => {
  const oldKey = generateKey("old");
  const oldSealer = createSealer(parseKeyRing(oldKey));
  const sealed = oldSealer.seal("token");
  const rotated = createSealer(parseKeyRing(`${generateKey("new")},${oldKey}`));
  assert.equal(rotated.open(sealed), "token");
  assert.ok(rotated.isStale(sealed));
  assert.ok(!rotated.isStale(rotated.seal("token")));
});

test("tampering and unknown keys are refused", () => {
  const sealer = createSealer(parseKeyRing(generateKey("k1")));
  const sealed = sealer.seal("token");
  const parts = sealed.split(".");
  parts[3] = Buffer.from("tampered").toString("base64url");
  assert.throws(() => sealer.open(parts.join(".")));
  assert.throws(() => createSealer(parseKeyRing(generateKey("k2"))).open(sealed), /unknown key/);
  assert.throws(() => parseKeyRing("k:c2hvcnQ="), /32 bytes/);
});
