import type { SwaggerOptions } from "@fastify/swagger";
import type { RouteOptions } from "fastify";
import { Type } from "typebox";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The request body as documented, for routes that read raw bytes (a zip, a signed body) and so
     * cannot let fastify validate it: `{ content: { "<media type>": { schema } } }` or a schema with
     * `consumes`. The document only; the route checks the body itself.
     */
    openapiBody?: unknown;
    /** Error statuses the route answers beyond those derived from its shape (e.g. 429). */
    errorStatuses?: number[];
  }
}

/** The one error shape every failure leaves in (apps/server/src/errors.ts). */
export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "stable and machine-readable, e.g. not_found, validation_failed" }),
      message: Type.String({ description: "for people" }),
      details: Type.Optional(Type.Unknown({ description: "what exactly was refused, where known" })),
    }),
  },
  { $id: "Error", title: "Error" },
);

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input (the body, query or path does not match the schema, or is not valid JSON)",
  401: "No valid credentials",
  403: "The credentials may not do this (or a change made with the session cookie lacks its CSRF token)",
  404: "No such object (of this tenant)",
  409: "Conflicts with the current state (a name in use, a rotation in progress)",
  413: "The body (or what it unpacks to) is too large",
  415: "Unsupported content type",
  429: "Too many failures (verifications from this source, or sign-ins); try later, after Retry-After",
};

/** The error statuses a route can answer, from its shape: every one may be refused, checked, or not found. */
export function errorStatuses(route: Pick<RouteOptions, "method" | "url" | "config">): number[] {
  const methods = [route.method].flat();
  const writes = methods.some((m) => m === "POST" || m === "PUT" || m === "PATCH");
  const statuses = new Set([400, 401, ...(route.config?.errorStatuses ?? [])]);
  if (!route.config?.public) statuses.add(403);
  if (route.url.includes(":")) statuses.add(404);
  if (writes) for (const status of [409, 413, 415]) statuses.add(status);
  return [...statuses].sort();
}

/** Adds the shared error schema to a route's responses (it also serializes the route's errors). */
export function addErrorResponses(route: RouteOptions): void {
  route.schema ??= {};
  const schema = route.schema as { response?: Record<string, unknown> };
  schema.response ??= {};
  for (const status of errorStatuses(route))
    schema.response[status] ??= { $ref: "Error#", description: DESCRIPTIONS[status] };
}

/** @fastify/swagger's options: the document's servers, shared schemas under their own names, documented bodies. */
export function swaggerOptions(publicBaseUrl: string | undefined): SwaggerOptions {
  return {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Chatbot backend admin API",
        version: "1",
        description:
          "Every request is scoped to the tenant of its caller: an API key (`Authorization: Bearer cbk_…`), or an operator signed in with the session cookie `cb_session` (POST /v1/auth/login), whose changes carry the session's CSRF token in `x-csrf-token`. Every error is `{ error: { code, message, details? } }`.",
      },
      ...(publicBaseUrl ? { servers: [{ url: publicBaseUrl.replace(/\/$/, "") }] } : {}),
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer", description: "An API key, cbk_…" },
          session: {
            type: "apiKey",
            in: "cookie",
            name: "cb_session",
            description:
              "An operator's session, set by POST /v1/auth/login; a change (not GET) also needs the session's CSRF token in the x-csrf-token header",
          },
        },
      },
      security: [{ apiKey: [] }, { session: [] }],
    },
    // Shared schemas appear as #/components/schemas/<their $id> (not def-0).
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (json.$id as string | undefined) ?? `def-${i}` },
    // A server URL with a path must not be stripped from the routes' paths.
    stripBasePath: false,
    transform: ({ schema, url, route }) => {
      const body = route.config?.openapiBody;
      return { schema: body ? { ...schema, body } : schema, url } as ReturnType<
        NonNullable<Extract<SwaggerOptions, { transform?: unknown }>["transform"]>
      >;
    },
  };
}
