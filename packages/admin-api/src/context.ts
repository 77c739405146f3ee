import { HttpError } from "@cb/core";
import type { Db } from "@cb/db";
import type { Egress } from "@cb/egress";
import type { Sealer } from "@cb/secrets";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { ApiPrincipal, Scope } from "./keys.ts";
import type { LiveHub } from "./live/hub.ts";

export interface AdminApiOptions {
  db: Db;
  sealer: Sealer;
  /** The address platforms reach this server at, for webhook URLs; else taken from the request. */
  publicBaseUrl?: string | undefined;
  /** Platform API base URLs (TELEGRAM_API_ROOT, …), fakes in tests. */
  channelEnv: Record<string, string | undefined>;
  /** Deployment-wide token allowed to create tenants (ADMIN_TOKEN). */
  operatorToken?: string | undefined;
  /** The Slack OAuth app's install flow, when configured: install links are signed with this secret. */
  slackInstall?: { stateSecret: string } | undefined;
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
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: ApiPrincipal;
  }
}

/** The caller's tenant; every query a route makes is scoped by it. */
export function tenantOf(request: FastifyRequest): string {
  if (!request.principal) throw new HttpError(401, "unauthenticated", "an API key is required");
  return request.principal.tenantId;
}

export function requireScope(request: FastifyRequest, write: boolean): void {
  const scopes: Scope[] = request.principal?.scopes ?? [];
  if (scopes.includes("admin")) return;
  if (!write && scopes.includes("read-only")) return;
  throw new HttpError(
    403,
    "forbidden",
    write ? "this key may not change anything (admin scope needed)" : "this key may not read the admin API",
  );
}

export const notFound = (what: string) => new HttpError(404, "not_found", `no such ${what}`);

export function baseUrl(options: AdminApiOptions, request: FastifyRequest): string {
  return (options.publicBaseUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, "");
}

/** The last four characters of a secret: enough to tell two apart, too little to use. */
export const hint = (secret: string) => `…${secret.slice(-4)}`;
