import { randomBytes } from "node:crypto";
import type { FastifyReply } from "fastify";
import { hashSecret } from "./keys.ts";

/** A random token of 32 bytes (session cookies, CSRF and invitation tokens), and the SHA-256 it is stored as. */
export function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashSecret(token) };
}

/** The form newToken gives: anything else is refused before a query is made. */
export const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** A response carrying a token (an invitation, a session's CSRF token) is kept by no cache. */
export const noStore = (reply: FastifyReply) => reply.header("cache-control", "no-store");
