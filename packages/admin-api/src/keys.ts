import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "@cb/db";

export const SCOPES = ["admin", "events", "read-only"] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiPrincipal {
  tenantId: string;
  keyId: string;
  scopes: Scope[];
}

/**
 * API keys look like `cbk_<id>_<secret>`: the id finds the row, the secret is checked against its
 * SHA-256. A plain hash is enough (no bcrypt/scrypt): the secret is 32 random bytes, not a
 * password, so there is nothing to guess, and verifying stays cheap on every request.
 */
export function newKey(): { id: string; secret: string; key: string; hash: string } {
  const id = randomBytes(9).toString("base64url");
  const secret = randomBytes(32).toString("base64url");
  return { id, secret, key: `cbk_${id}_${secret}`, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

const KEY = /^cbk_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/;
/** The form of a key's id (the table's primary key). */
export const KEY_ID = /^[A-Za-z0-9_-]{12}$/;

/** The tenant and scopes of a raw key, or null for an unknown, revoked or malformed one. */
export async function authenticateApiKey(db: Db, rawKey: string): Promise<ApiPrincipal | null> {
  const m = KEY.exec(rawKey);
  if (!m) return null;
  const row = await db.apiKey.findUnique({ where: { id: m[1]! } });
  if (!row || row.revokedAt) return null;
  const expected = Buffer.from(row.secretHash, "hex");
  const given = Buffer.from(hashSecret(m[2]!), "hex");
  if (!timingSafeEqual(expected, given)) return null;
  return { tenantId: row.tenantId, keyId: row.id, scopes: row.scopes as Scope[] };
}
