import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { assertStorable, HttpError } from "@cb/core";
import type { WebchatSecrets } from "./driver.ts";

/** Who is writing: an anonymous visitor (a random token the widget keeps) or a user the business identified. */
export interface Visitor {
  /** The conversation's external id: `visitor:<hash of the token>` or `user:<user id>`. */
  externalId: string;
  userId?: string;
}

/**
 * The credential the widget sends as `authorization: Bearer …`: `v.<visitor token>` (22-64
 * base64url characters the widget drew at random) or `u.<user id, base64url>.<HMAC-SHA256 hex>`.
 * In the authorization header, so every log redacts it.
 */
export const CREDENTIAL = "^Bearer (v\\.[A-Za-z0-9_-]{22,64}|u\\.[A-Za-z0-9_-]{1,344}\\.[0-9a-f]{64})$";
const MAX_USER_ID = 256;

/**
 * Intercom's identity verification: the business's own server computes this of its user's id with
 * the account's identity secret and puts it on its page; without the secret no one can claim that id.
 */
export function userHash(secret: string, userId: string): string {
  return createHmac("sha256", secret).update(userId).digest("hex");
}

/** The visitor an authorization header (already checked against CREDENTIAL) names; 401 for a wrong hash. */
export function visitorOf(authorization: string, secrets: WebchatSecrets): Visitor {
  const [kind, a, b] = authorization.slice("Bearer ".length).split(".");
  if (kind === "v") {
    // The token is the visitor's only key to the conversation: stored as a hash, so that the
    // conversation's id, which operators see, never lets anyone write or read as the visitor.
    return { externalId: `visitor:${createHash("sha256").update(a!).digest("base64url").slice(0, 32)}` };
  }
  const userId = Buffer.from(a!, "base64url").toString("utf8");
  if (!userId || [...userId].length > MAX_USER_ID)
    throw new HttpError(400, "invalid_user_id", `a user id is 1 to ${MAX_USER_ID} characters`);
  // It becomes the conversation's external id: a NUL would fail the first query as a 500.
  assertStorable(userId, "the user id");
  const expected = Buffer.from(userHash(secrets.identitySecret, userId), "hex");
  // Constant-time, so response timing reveals nothing of the expected hash.
  if (!timingSafeEqual(expected, Buffer.from(b!, "hex")))
    throw new HttpError(401, "invalid_user_hash", "the user hash is not this user id's HMAC with the account's secret");
  return { externalId: `user:${userId}`, userId };
}
