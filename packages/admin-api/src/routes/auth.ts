import { HttpError } from "@cb/core";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { operatorSettings, type AdminApiOptions } from "../context.ts";
import { hashSecret } from "../keys.ts";
import { loginLimit } from "../login-limit.ts";
import { AcceptInvitationInput, LoginInput, SignedInBody, operatorView } from "../operator-schemas.ts";
import { hashPassword, verifyPassword } from "../passwords.ts";
import { clearSessionCookie, setSessionCookie } from "../session-cookie.ts";
import { startSession } from "../sessions.ts";
import { noStore, TOKEN } from "../tokens.ts";

const WRONG = "wrong e-mail or password";

/** The signed-in operator, for the session routes: an API key has no session. */
function signedIn(request: FastifyRequest) {
  const principal = request.principal;
  if (!principal?.operator)
    throw new HttpError(401, "unauthenticated", "no operator is signed in (an API key has no session)");
  return principal;
}

/** Sign-in, the session, sign-out, and accepting an invitation; sessions are cookies (cb_session) with a CSRF token. */
export const authRoutes: FastifyPluginAsyncTypebox<AdminApiOptions> = async (app, options) => {
  const { db } = options;
  const settings = operatorSettings(options);
  const limit = loginLimit(db, settings.loginLimit);

  /** Starts a session for the operator: the cookie is set, the body tells who signed in and the CSRF token. */
  const signIn = async (request: FastifyRequest, reply: FastifyReply, operatorId: string) => {
    const session = await startSession(db, operatorId, settings.sessions);
    const operator = await db.operator.update({ where: { id: operatorId }, data: { lastLoginAt: new Date() } });
    setSessionCookie(request, reply, session, settings.secureCookie);
    noStore(reply);
    return { operator: operatorView(operator), csrfToken: session.csrfToken };
  };

  app.post(
    "/v1/auth/login",
    {
      config: { public: true, errorStatuses: [429] },
      schema: {
        tags: ["operators"],
        summary:
          "Sign in: sets the session cookie cb_session. A wrong e-mail or password answers 401 alike; repeated failures for an e-mail or from an address answer 429 with Retry-After",
        security: [],
        body: LoginInput,
        response: { 200: SignedInBody },
      },
    },
    async (request, reply) => {
      const email = request.body.email.toLowerCase();
      const waitMs = await limit.attempt(email, request.ip);
      if (waitMs > 0) {
        reply.header("retry-after", String(Math.ceil(waitMs / 1000)));
        throw new HttpError(429, "too_many_attempts", "too many failed sign-ins: try again later");
      }
      const operator = await db.operator.findUnique({ where: { email } });
      // Verified even for an unknown e-mail (against a dummy hash): the answer takes as long.
      const matches = await verifyPassword(operator?.passwordHash ?? null, request.body.password);
      if (!operator || !matches || operator.disabled) throw new HttpError(401, "unauthenticated", WRONG);
      await limit.succeeded(email, request.ip);
      return signIn(request, reply, operator.id);
    },
  );

  app.post(
    "/v1/auth/accept-invitation",
    {
      config: { public: true },
      schema: {
        tags: ["operators"],
        summary:
          "Set a password with an invitation (or password reset) token and sign in, as POST /v1/auth/login does; the operator's other sessions end",
        security: [],
        body: AcceptInvitationInput,
        response: { 200: SignedInBody },
      },
    },
    async (request, reply) => {
      const { token, password, name } = request.body;
      const invalid = new HttpError(401, "invalid_invitation", "the invitation is unknown, used or expired");
      if (!TOKEN.test(token)) throw invalid;
      const operator = await db.operator.findUnique({ where: { invitationHash: hashSecret(token) } });
      if (!operator || operator.disabled || !operator.invitationExpiresAt || operator.invitationExpiresAt <= new Date())
        throw invalid;
      const passwordHash = await hashPassword(password);
      // Only one use: the update finds the row only while it still holds this token.
      const { count } = await db.$transaction(async (tx) => {
        const used = await tx.operator.updateMany({
          where: { id: operator.id, invitationHash: operator.invitationHash },
          data: { passwordHash, invitationHash: null, invitationExpiresAt: null, ...(name ? { name } : {}) },
        });
        if (used.count) await tx.operatorSession.deleteMany({ where: { operatorId: operator.id } });
        return used;
      });
      if (!count) throw invalid;
      return signIn(request, reply, operator.id);
    },
  );

  app.get(
    "/v1/auth/session",
    {
      schema: {
        tags: ["operators"],
        summary: "The signed-in operator and the session's CSRF token (401 when the session has ended)",
        response: { 200: SignedInBody },
      },
    },
    async (request, reply) => {
      const { operator, session } = signedIn(request);
      noStore(reply);
      return {
        operator: operatorView(await db.operator.findUniqueOrThrow({ where: { id: operator.id } })),
        csrfToken: session.csrfToken,
      };
    },
  );

  app.post(
    "/v1/auth/logout",
    {
      schema: {
        tags: ["operators"],
        summary: "Sign out: the session ends and its cookie is cleared",
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { session } = signedIn(request);
      await db.operatorSession.deleteMany({ where: { id: session.id } });
      clearSessionCookie(request, reply, settings.secureCookie);
      return reply.code(204).send(null);
    },
  );
};
