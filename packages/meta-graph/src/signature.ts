import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Meta signs each webhook with HMAC-SHA256 of the exact raw body under the app secret, sent as
 * `X-Hub-Signature-256: sha256=<hex>`. Compared in constant time; a re-serialized body would not
 * match, so only raw bytes are ever checked.
 */
export function hubSignatureValid(rawBody: Buffer, header: string | string[] | undefined, appSecret: string): boolean {
  if (typeof header !== "string" || !header.startsWith("sha256=")) return false;
  const given = Buffer.from(header.slice(7), "hex");
  const expected = createHmac("sha256", appSecret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The header value for a body: what Meta would send (fakes and tests sign with it). */
export function hubSignature(rawBody: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac("sha256", appSecret).update(rawBody).digest("hex")}`;
}
