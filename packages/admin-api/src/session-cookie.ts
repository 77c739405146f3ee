import type { FastifyReply, FastifyRequest } from "fastify";
import type { OperatorOptions } from "./context.ts";

export const SESSION_COOKIE = "cb_session";

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** Secure, unless told otherwise or the request is plain http from this machine (a local console). */
function secure(request: FastifyRequest, mode: OperatorOptions["secureCookie"]): boolean {
  if (mode === "always" || mode === "never") return mode === "always";
  return !(request.protocol === "http" && LOOPBACK.test(request.ip));
}

/** httpOnly (no script reads it), SameSite=Strict (no other site's page sends it), for the whole site. */
const attributes = (request: FastifyRequest, mode: OperatorOptions["secureCookie"]) =>
  ({ httpOnly: true, sameSite: "strict", path: "/", secure: secure(request, mode) }) as const;

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  session: { token: string; absoluteExpiresAt: Date },
  mode: OperatorOptions["secureCookie"],
): void {
  reply.setCookie(SESSION_COOKIE, session.token, { ...attributes(request, mode), expires: session.absoluteExpiresAt });
}

export function clearSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  mode: OperatorOptions["secureCookie"],
): void {
  reply.clearCookie(SESSION_COOKIE, attributes(request, mode));
}
