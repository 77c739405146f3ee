// The admin API, typed from the server's OpenAPI document (schema.d.ts, generated). The console signs
// in with a session cookie; every request that changes something carries the session's CSRF token.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

let csrfToken: string | undefined;
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD" && csrfToken)
      request.headers.set("x-csrf-token", csrfToken);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: "same-origin" });
api.use(csrf);

/** An error answer of the API, with its stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's body, or an ApiError with the API's own message. */
export async function ok<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    const body = (error ?? {}) as { error?: { code?: string; message?: string } };
    throw new ApiError(
      response.status,
      body.error?.code ?? "http_error",
      body.error?.message ?? `${response.status} ${response.statusText}`,
    );
  }
  return data as T;
}

type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;
/** The JSON body a path's operation answers with `status`. */
export type Body<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: infer R;
}
  ? S extends keyof R
    ? Json<R[S]>
    : never
  : never;
