import type { Db } from "@cb/db";
import { RateLimiterPostgres, type RateLimiterRes } from "rate-limiter-flexible";
import { hashSecret } from "./keys.ts";

export interface LoginLimitSettings {
  /** Failed sign-ins an e-mail may have in a window before it is refused (5). */
  perEmail: number;
  /** Failed sign-ins a client address may have in a window, whatever the e-mails (50). */
  perIp: number;
  /** The window, from its first failure (900 s). */
  windowS: number;
}
export const DEFAULT_LOGIN_LIMIT: LoginLimitSettings = { perEmail: 5, perIp: 50, windowS: 900 };

/**
 * rate-limiter-flexible's PostgreSQL store over the Prisma client the admin API has (the same
 * "RateLimit" table the forgery limit counts in): its statements are plain SQL with $n parameters.
 * Prisma reads BIGINT as bigint where pg gives a string the library does arithmetic on: numbers here.
 */
function prismaStore(db: Db) {
  return {
    async query({ text, values = [] }: { text: string; values?: unknown[] }) {
      const rows = await db.$queryRawUnsafe<Record<string, unknown>[]>(text, ...values);
      const plain = rows.map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])),
      );
      return { rows: plain, rowCount: plain.length };
    },
  };
}

/**
 * Sign-in attempts counted per e-mail and per client address in PostgreSQL, so every web process
 * sees the same counts. Each attempt is counted before its password is checked (one atomic
 * statement), so attempts sent at once cannot pass the limit together; a success takes its own
 * back (its e-mail's count is cleared, its address's lowered by one), so what counts is failures.
 * Past either limit sign-in is refused (429) until the window ends, the right password included.
 * E-mails are counted under their SHA-256, so the table holds none.
 */
export function loginLimit(db: Db, settings: LoginLimitSettings) {
  const limiter = (prefix: string, points: number) =>
    new RateLimiterPostgres({
      storeClient: prismaStore(db),
      storeType: "client",
      tableName: "RateLimit",
      tableCreated: true,
      keyPrefix: prefix,
      points,
      duration: settings.windowS,
      // The web role's forgery limit clears the table's expired rows.
      clearExpiredByTimeout: false,
    });
  const byEmail = limiter("login-email", settings.perEmail);
  const byIp = limiter("login-ip", settings.perIp);
  const emailKey = (email: string) => hashSecret(email);
  /** Milliseconds until the window ends when this attempt is past the limit (consume() rejects with the count), else 0. */
  const wait = (consumed: Promise<RateLimiterRes>) =>
    consumed.then(
      () => 0,
      (res: unknown) => {
        if (res instanceof Error) throw res;
        return Math.max(1, (res as RateLimiterRes).msBeforeNext);
      },
    );

  return {
    /** Counts an attempt: milliseconds until sign-in may be tried again for this e-mail from this address, or 0. */
    async attempt(email: string, ip: string): Promise<number> {
      const waits = await Promise.all([wait(byEmail.consume(emailKey(email))), wait(byIp.consume(ip))]);
      return Math.max(...waits);
    },
    async succeeded(email: string, ip: string): Promise<void> {
      await Promise.all([byEmail.delete(emailKey(email)), byIp.reward(ip, 1)]);
    },
  };
}
