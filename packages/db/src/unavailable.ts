/** PostgreSQL's SQLSTATEs for a server going away or not yet taking connections. */
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"]);
const UNAVAILABLE_NODE = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"]);
/** Prisma's codes for an unreachable server or a closed connection. */
const UNAVAILABLE_PRISMA = new Set(["P1001", "P1002", "P1017"]);
const UNAVAILABLE_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Query read timeout",
  "Client has encountered a connection error",
];

/**
 * Whether an error means the database is out of reach for now (restarting, failing over, or the
 * connection died), rather than that the request was wrong: the caller answers 503 and retries,
 * and a platform sending a webhook redelivers it.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    const code = typeof e.code === "string" ? e.code : "";
    if (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_NODE.has(code) || UNAVAILABLE_PRISMA.has(code)) return true;
    if (typeof e.message === "string" && UNAVAILABLE_MESSAGES.some((m) => (e!.message as string).includes(m)))
      return true;
    e = e.cause as typeof e;
  }
  return false;
}
