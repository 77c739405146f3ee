import { timingSafeEqual } from "node:crypto";
import { HttpError } from "@cb/core";
import type { FastifyRequest } from "fastify";
import { operatorSettings, type AdminApiOptions, type Principal } from "./context.ts";
import { authenticateApiKey } from "./keys.ts";
import { SESSION_COOKIE } from "./session-cookie.ts";
import { readSession } from "./sessions.ts";

const SAFE_METHODS = new Set(["GET", "HEAD"]);

const same = (given: string, expected: string) =>
  given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));

/**
 * The caller of an admin API request: an API key (`Authorization: Bearer cbk_…`, which wins when
 * both are sent) or an operator's session cookie. A change made with the cookie must carry the
 * session's CSRF token in x-csrf-token: a page of another site can make the browser send the
 * cookie (SameSite aside), never read the token.
 */
export function authenticator(options: AdminApiOptions) {
  const { sessions } = operatorSettings(options);
  return async (request: FastifyRequest): Promise<Principal> => {
    const header = request.headers.authorization;
    if (header) {
      if (!header.startsWith("Bearer "))
        throw new HttpError(401, "unauthenticated", "send an API key: Authorization: Bearer cbk_…");
      const principal = await authenticateApiKey(options.db, header.slice(7).trim());
      if (!principal) throw new HttpError(401, "unauthenticated", "unknown or revoked API key");
      return principal;
    }
    const token = request.cookies[SESSION_COOKIE];
    if (token === undefined)
      throw new HttpError(
        401,
        "unauthenticated",
        "send an API key (Authorization: Bearer cbk_…) or sign in (POST /v1/auth/login)",
      );
    const signedIn = await readSession(options.db, token, sessions);
    if (!signedIn) throw new HttpError(401, "unauthenticated", "the session has ended: sign in again");
    const csrf = request.headers["x-csrf-token"];
    if (!SAFE_METHODS.has(request.method) && !(typeof csrf === "string" && same(csrf, signedIn.session.csrfToken)))
      throw new HttpError(
        403,
        "csrf",
        "a change made with the session cookie needs the session's CSRF token in x-csrf-token",
      );
    return signedIn;
  };
}
