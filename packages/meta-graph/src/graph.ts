import { PlatformError } from "@cb/core";

export interface GraphOptions {
  /** https://graph.facebook.com by default; a proxy or a fake otherwise. */
  baseUrl?: string | undefined;
  version?: string | undefined;
  /** The channel name errors are reported under. */
  platform: string;
}

export const DEFAULT_GRAPH_VERSION = "v21.0";

/** The deployment settings of every Graph API channel (a driver's `settings`). */
export const GRAPH_SETTINGS = {
  GRAPH_API_BASE_URL: { description: "the Graph API (WhatsApp Cloud API, Messenger, Instagram)", url: true },
  GRAPH_API_VERSION: { description: `the Graph API version, ${DEFAULT_GRAPH_VERSION} by default` },
};

// Graph error codes that mean "slow down" (https://developers.facebook.com/docs/graph-api/overview/rate-limiting,
// WhatsApp Cloud API error codes 130429 throughput and 131056 pair rate), and how long to wait
// when no Retry-After says: a second for a number's per-second throughput, six for the pair rate
// (about one message in 6 s to one customer), a minute for the app, page and account limits
// counted over hours.
const THROTTLED_WAIT_MS = new Map([
  [130429, 1000],
  [131056, 6000],
  [4, 60_000],
  [17, 60_000],
  [32, 60_000],
  [613, 60_000],
  [80007, 60_000],
]);

interface GraphErrorBody {
  error?: { message?: string; code?: number; error_subcode?: number };
}

/** A small Graph API client: JSON in and out, Graph errors as PlatformErrors. */
export function graphClient(options: GraphOptions) {
  const base = `${(options.baseUrl ?? "https://graph.facebook.com").replace(/\/$/, "")}/${options.version ?? DEFAULT_GRAPH_VERSION}`;

  async function call<T>(
    method: "GET" | "POST",
    path: string,
    init: { token: string; tokenInQuery?: boolean; body?: unknown },
  ): Promise<T> {
    const url = new URL(`${base}${path}`);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (init.tokenInQuery) url.searchParams.set("access_token", init.token);
    else headers.authorization = `Bearer ${init.token}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new PlatformError(options.platform, "network", `Graph API unreachable: ${(err as Error).message}`, true);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = {};
    }
    if (response.ok) return json as T;
    const error = (json as GraphErrorBody).error ?? {};
    const code = error.code ?? response.status;
    const retryAfter = Number(response.headers.get("retry-after"));
    const throttled = response.status === 429 || THROTTLED_WAIT_MS.has(code);
    throw new PlatformError(
      options.platform,
      String(code),
      error.message ?? `Graph API answered HTTP ${response.status}`,
      throttled || response.status >= 500,
      Number.isFinite(retryAfter) && retryAfter > 0
        ? retryAfter * 1000
        : throttled
          ? (THROTTLED_WAIT_MS.get(code) ?? 1000)
          : undefined,
    );
  }

  return {
    post: <T>(path: string, token: string, body: unknown, tokenInQuery = false) =>
      call<T>("POST", path, { token, body, tokenInQuery }),
    get: <T>(path: string, token: string) => call<T>("GET", path, { token }),
  };
}
