/**
 * An error that carries the HTTP answer it deserves: `{ "error": { "code", "message", "details" } }`.
 * Messages must never contain secrets.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** A platform API call that failed; `retryable` for 429 / 5xx / network errors. */
export class PlatformError extends Error {
  constructor(
    readonly platform: string,
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "PlatformError";
  }
}
