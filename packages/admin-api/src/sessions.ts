import type { Db } from "@cb/db";
import { hashSecret } from "./keys.ts";
import { newToken, TOKEN } from "./tokens.ts";

export interface SessionSettings {
  /** A session unused this long ends (12 h); each use moves the end forward. */
  idleMs: number;
  /** A session ends this long after sign-in, however much it is used (7 d). */
  absoluteMs: number;
}
export const DEFAULT_SESSIONS: SessionSettings = { idleMs: 12 * 3_600_000, absoluteMs: 7 * 86_400_000 };

// The idle end is moved forward at most once a minute: a busy console costs a write a minute, not one a request.
const SLIDE_STEP_MS = 60_000;

export const OPERATOR_ROLES = ["admin", "agent", "viewer"] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export interface SignedIn {
  tenantId: string;
  operator: { id: string; email: string; role: OperatorRole };
  session: { id: string; csrfToken: string; absoluteExpiresAt: Date };
}

/** A new session for an operator: the cookie's token (shown only to them) and the CSRF token. */
export async function startSession(db: Db, operatorId: string, settings: SessionSettings) {
  const now = Date.now();
  const { token, hash } = newToken();
  const csrfToken = newToken().token;
  const absoluteExpiresAt = new Date(now + settings.absoluteMs);
  const expiresAt = new Date(Math.min(now + settings.idleMs, absoluteExpiresAt.getTime()));
  // Ended sessions of everyone go with each sign-in, so the table holds little more than live ones.
  await db.operatorSession.deleteMany({ where: { expiresAt: { lte: new Date(now) } } });
  await db.operatorSession.create({ data: { id: hash, operatorId, csrfToken, expiresAt, absoluteExpiresAt } });
  return { token, csrfToken, absoluteExpiresAt };
}

/**
 * The operator a session cookie's token signs in, or null: unknown, idle too long, past its
 * absolute end, or its operator disabled (an ended session is deleted when seen). Use slides the
 * idle end forward, never past the absolute one.
 */
export async function readSession(db: Db, token: string, settings: SessionSettings): Promise<SignedIn | null> {
  if (!TOKEN.test(token)) return null;
  const id = hashSecret(token);
  const row = await db.operatorSession.findUnique({ where: { id }, include: { operator: true } });
  if (!row) return null;
  const now = Date.now();
  if (row.expiresAt.getTime() <= now || row.operator.disabled) {
    await db.operatorSession.deleteMany({ where: { id } });
    return null;
  }
  const slid = Math.min(now + settings.idleMs, row.absoluteExpiresAt.getTime());
  if (slid - row.expiresAt.getTime() >= SLIDE_STEP_MS)
    await db.operatorSession.updateMany({ where: { id }, data: { expiresAt: new Date(slid) } });
  const { operator } = row;
  return {
    tenantId: operator.tenantId,
    operator: { id: operator.id, email: operator.email, role: operator.role as OperatorRole },
    session: { id, csrfToken: row.csrfToken, absoluteExpiresAt: row.absoluteExpiresAt },
  };
}
