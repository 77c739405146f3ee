import { test } from "node:test";
import assert from "node:assert/strict";
import { HttpError } from "@cb/core";
import { strToU8, zipSync } from "fflate";
import { unzipWithLimits } from "../src/zip.ts";

const limits = { entries: 3, entryBytes: 1000, totalBytes: 1500 };
const refused = (zip: Uint8Array, status: number, message: RegExp) =>
  assert.throws(
    () => unzipWithLimits(zip, limits),
    (err) => err instanceof HttpError && err.statusCode === status && message.test(err.message),
  );

test("files within the limits come back whole, folders left out", () => {
  const files = unzipWithLimits(
    zipSync({ "a.json": strToU8("{}"), dir: {}, "dir/b.txt": new Uint8Array(1000).fill(98) }),
    limits,
  );
  assert.deepEqual(Object.keys(files).sort(), ["a.json", "dir/b.txt"]);
  assert.equal(Buffer.from(files["a.json"]!).toString(), "{}");
  assert.equal(files["dir/b.txt"]!.length, 1000);
});

test("one file past its limit, all files past theirs, or too many files: 413", () => {
  refused(zipSync({ "big.json": new Uint8Array(1001) }), 413, /big\.json inflates to more than 1000 bytes/);
  refused(
    zipSync({ "a.json": new Uint8Array(800), "b.json": new Uint8Array(800) }),
    413,
    /the archive inflates to more than 1500 bytes/,
  );
  refused(zipSync({ a: strToU8("1"), b: strToU8("2"), c: strToU8("3"), d: strToU8("4") }), 413, /more than 3 files/);
});

test("what is not a zip, or is cut short, is a 400", () => {
  refused(strToU8("not a zip at all"), 400, /not a zip archive/);
  const whole = zipSync({ "a.json": new Uint8Array(900).map((_, i) => i % 251) });
  refused(whole.subarray(0, 60), 400, /./);
});
