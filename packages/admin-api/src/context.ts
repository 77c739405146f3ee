import { HttpError } from "@cb/core";
import type { Db } from "@cb/db";
import type { Egress } from "@cb/egress";
import type { Sealer } from "@cb/secrets";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { ApiPrincipal, Scope } from "./keys.ts";
import type { LiveHub } from "./live/hub.ts";
import { DEFAULT_LOGIN_LIMIT, type LoginLimitSettings } from "./login-limit.ts";
import { DEFAULT_SESSIONS, type OperatorRole, type SessionSettings, type SignedIn } from "./sessions.ts";

export interface AdminApiOptions {
  db: Db;
  sealer: Sealer;
  /** The address platforms reach this server at, for webhook URLs; else taken from the request. */
  publicBaseUrl?: string | undefined;
  /** Platform API base URLs (TELEGRAM_API_ROOT, …), fakes in tests. */
  channelEnv: Record<string, string | undefined>;
  /** Deployment-wide token allowed to create tenants (ADMIN_TOKEN). */
  operatorToken?: string | undefined;
  /**
   * The channel drivers' deployment settings by name: install links (ChannelDriver.install) are
   * given for a channel whose app they configure, and signed with them.
   */
  channelSettings?: Readonly<Record<string, string | undefined>> | undefined;
  /**
   * Further /v1 routes served in the admin API's context (the order-event intake), so one OpenAPI
   * document describes them and their errors; they authenticate on their own (`config.public`).
   */
  routes?: FastifyPluginAsync[];
  /** The process's live-update listener: GET /v1/stream is served only with it. */
  live?: LiveHub | undefined;
  /**
   * How fulfillment replays reach endpoints (the deployment's EGRESS_ALLOW policy); without it,
   * public HTTPS addresses only.
   */
  egress?: Egress | undefined;
  /** Called when an account's credentials or state changed, so caches drop it. */
  onAccountChanged?: (accountId: string) => void;
  /** How long one POST /v1/conversation-tests may run (default 2 minutes). */
  conversationTestsTimeLimitMs?: number | undefined;
  /** Operators' sign-in: sessions, the cookie, the limit on failures (defaults in sessions.ts, login-limit.ts). */
  operators?: OperatorOptions | undefined;
}

export interface OperatorOptions {
  sessions?: Partial<SessionSettings> | undefined;
  loginLimit?: Partial<LoginLimitSettings> | undefined;
  /**
   * The session cookie's Secure attribute. auto (the default): set, except on plain http from a
   * loopback address (a local console: browsers drop Secure cookies over http).
   */
  secureCookie?: "auto" | "always" | "never" | undefined;
}

/** The operator settings in force: those given, else the defaults. */
export function operatorSettings(options: AdminApiOptions) {
  const given = options.operators ?? {};
  return {
    sessions: { ...DEFAULT_SESSIONS, ...given.sessions } as SessionSettings,
    loginLimit: { ...DEFAULT_LOGIN_LIMIT, ...given.loginLimit } as LoginLimitSettings,
    secureCookie: given.secureCookie ?? "auto",
  };
}

/** Who calls: an API key, or an operator signed in with the session cookie. */
export type Principal = (ApiPrincipal & { operator?: undefined }) | SignedIn;

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The caller's tenant; every query a route makes is scoped by it. */
export function tenantOf(request: FastifyRequest): string {
  if (!request.principal) throw new HttpError(401, "unauthenticated", "an API key or a signed-in operator is required");
  return request.principal.tenantId;
}

/**
 * What a route needs. read: anything that changes nothing. agent: the work of a conversation's
 * agent (take over, answer, give back) and replaying event deliveries. admin: every other change.
 * `false` and `true` are the older spelling of read and admin.
 */
export type Access = "read" | "agent" | "admin";
const SCOPE_GRANTS: Record<Scope, Access[]> = { admin: ["read", "agent", "admin"], "read-only": ["read"], events: [] };
const ROLE_GRANTS: Record<OperatorRole, Access[]> = {
  admin: ["read", "agent", "admin"],
  agent: ["read", "agent"],
  viewer: ["read"],
};
const REFUSALS: Record<Access, string> = {
  read: "these credentials may not read the admin API",
  agent: "this needs an agent or an admin (an admin-scope key, or an operator with role agent or admin)",
  admin: "this needs an admin (an admin-scope key, or an operator with role admin)",
};

export function requireScope(request: FastifyRequest, needed: Access | boolean): void {
  const access = needed === true ? "admin" : needed === false ? "read" : needed;
  const principal = request.principal;
  const grants = principal?.operator
    ? ROLE_GRANTS[principal.operator.role]
    : (principal?.scopes ?? []).flatMap((scope) => SCOPE_GRANTS[scope]);
  if (!grants.includes(access)) throw new HttpError(403, "forbidden", REFUSALS[access]);
}

export const notFound = (what: string) => new HttpError(404, "not_found", `no such ${what}`);

export function baseUrl(options: AdminApiOptions, request: FastifyRequest): string {
  return (options.publicBaseUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, "");
}

/** The last four characters of a secret: enough to tell two apart, too little to use. */
export const hint = (secret: string) => `…${secret.slice(-4)}`;
