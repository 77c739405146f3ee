import { EgressError, type Egress } from "@cb/egress";
import {
  fulfillmentCalls,
  fulfillmentDuration,
  inSpan,
  type Span,
  SpanKind,
  statusClass as statusClassLabel,
  traceHeaders,
} from "@cb/observability";
import CircuitBreaker from "opossum";
import type { WebhookRequest, WebhookResponse } from "./dialogflow.ts";
import { whyInvalid, type CheckedWebhookResponse } from "./response-schema.ts";
import { signatureHeaders } from "./signing.ts";

export interface EndpointAuth {
  basic?: { username: string; password: string };
  headers?: Record<string, string>;
  /** Standard Webhooks secrets (whsec_…), newest first; all sign during a rotation. */
  signingSecrets?: string[];
}

export interface Endpoint {
  id: string;
  url: string;
  timeoutMs: number;
  auth?: EndpointAuth;
}

/** Why an attempt failed, in the classes webhook health counts. */
export type ErrorClass = "timeout" | "connection" | "http_4xx" | "http_5xx" | "invalid_response" | "circuit_open";

/** What went over the wire, for diagnosis: bodies cut at RECORDED_BODY_BYTES, credentials redacted. */
export interface Exchange {
  requestBody: string;
  requestHeaders: Record<string, string>;
  responseBody?: string;
}

export type FulfillmentResult = (
  | { ok: true; response: WebhookResponse; httpStatus: number; latencyMs: number }
  | {
      ok: false;
      error: string;
      errorClass: ErrorClass;
      httpStatus?: number;
      latencyMs: number;
      circuitOpen?: boolean;
    }
) & { exchange: Exchange };

export const MAX_RESPONSE_BYTES = 64 * 1024;
/** How much of each request and response body is kept with the attempt. */
export const RECORDED_BODY_BYTES = 16 * 1024;
const REDACTED = "[redacted]";

/** The first RECORDED_BODY_BYTES of a body, cut on a character boundary. */
export function recordedBody(body: string | Buffer): string {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  if (bytes.length <= RECORDED_BODY_BYTES) return bytes.toString("utf8");
  // A cut inside a multi-byte character decodes to U+FFFD; dropped so the text stays clean.
  return bytes
    .subarray(0, RECORDED_BODY_BYTES)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
}

/**
 * The headers sent, as they may be shown: the names of the tenant's own headers (API keys and the
 * like), basic auth and the signature are kept, their values are not.
 */
export function redactedHeaders(headers: Record<string, string>, endpoint: Endpoint): Record<string, string> {
  const secret = new Set([
    "authorization",
    "webhook-signature",
    ...Object.keys(endpoint.auth?.headers ?? {}).map((h) => h.toLowerCase()),
  ]);
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, secret.has(name.toLowerCase()) ? REDACTED : value]),
  );
}

class CallFailure extends Error {
  constructor(
    message: string,
    readonly errorClass: ErrorClass,
    readonly httpStatus?: number,
    readonly responseBody?: string,
  ) {
    super(message);
  }
}

function parseResponse(body: Buffer): WebhookResponse {
  let value: unknown;
  const fail = (message: string) => new CallFailure(message, "invalid_response", undefined, recordedBody(body));
  try {
    value = JSON.parse(body.toString("utf8") || "{}");
  } catch {
    throw fail("the response is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw fail("the response is not a JSON object");
  const invalid = whyInvalid(value);
  if (invalid) throw fail(`invalid answer: ${invalid}`);
  return value as CheckedWebhookResponse;
}

const statusClass = (status: number): ErrorClass =>
  status >= 500 && status < 600 ? "http_5xx" : status >= 400 && status < 500 ? "http_4xx" : "invalid_response";

function egressFailure(err: EgressError): CallFailure {
  if (err.code === "too_large")
    return new CallFailure(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`, "invalid_response");
  return new CallFailure(err.message, err.code === "timeout" ? "timeout" : "connection");
}

function requestHeaders(endpoint: Endpoint, body: string, id: string): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json", ...(endpoint.auth?.headers ?? {}) };
  if (endpoint.auth?.basic)
    headers.authorization = `Basic ${Buffer.from(`${endpoint.auth.basic.username}:${endpoint.auth.basic.password}`).toString("base64")}`;
  const signed = endpoint.auth?.signingSecrets?.length ? signatureHeaders(endpoint.auth.signingSecrets, id, body) : {};
  // The call's span as the backend's parent (W3C traceparent), when tracing is on.
  return { ...headers, ...signed, ...traceHeaders() };
}

/**
 * One POST of a WebhookRequest within a time budget, with one quick retry when the connection
 * itself failed and the budget allows. Throws CallFailure; no circuit breaker (see the client).
 */
async function post(
  egress: Egress,
  endpoint: Endpoint,
  body: string,
  id: string,
  budgetMs: number,
  sent: { headers?: Record<string, string> },
) {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    const left = budgetMs - (performance.now() - started);
    // Signed afresh for each attempt: the timestamp is part of the signature.
    const headers = requestHeaders(endpoint, body, id);
    sent.headers = headers;
    try {
      const response = await egress.request(endpoint.url, {
        method: "POST",
        headers,
        body,
        timeoutMs: left,
        maxBytes: MAX_RESPONSE_BYTES,
      });
      if (response.status < 200 || response.status >= 300)
        throw new CallFailure(
          `the endpoint answered HTTP ${response.status}`,
          statusClass(response.status),
          response.status,
          recordedBody(response.body),
        );
      return {
        response: parseResponse(response.body),
        httpStatus: response.status,
        responseBody: recordedBody(response.body),
      };
    } catch (err) {
      const retry =
        err instanceof EgressError &&
        err.code === "connect_failed" &&
        attempt === 1 &&
        performance.now() - started < budgetMs / 2;
      if (retry) continue;
      if (err instanceof EgressError) throw egressFailure(err);
      throw err;
    }
  }
}

type Posted = Awaited<ReturnType<typeof post>>;

/** The outcome of a post (or of a breaker refusing it) as a FulfillmentResult. */
function toResult(
  endpoint: Endpoint,
  body: string,
  sent: { headers?: Record<string, string> },
  started: number,
  outcome: { posted: Posted } | { err: unknown },
): FulfillmentResult {
  const latencyMs = performance.now() - started;
  const exchange = (responseBody?: string): Exchange => ({
    requestBody: recordedBody(body),
    requestHeaders: sent.headers ? redactedHeaders(sent.headers, endpoint) : {},
    ...(responseBody !== undefined ? { responseBody } : {}),
  });
  if ("posted" in outcome) {
    const { response, httpStatus, responseBody } = outcome.posted;
    return { ok: true, response, httpStatus, latencyMs, exchange: exchange(responseBody) };
  }
  const { err } = outcome;
  if ((err as { code?: string }).code === "EOPENBREAKER")
    return {
      ok: false,
      error: "circuit open: the endpoint failed repeatedly; not called",
      errorClass: "circuit_open",
      latencyMs,
      circuitOpen: true,
      exchange: exchange(),
    };
  const failure = err instanceof CallFailure ? err : new CallFailure(`failed: ${(err as Error).message}`, "connection");
  return {
    ok: false,
    error: failure.message,
    errorClass: failure.errorClass,
    ...(failure.httpStatus ? { httpStatus: failure.httpStatus } : {}),
    latencyMs,
    exchange: exchange(failure.responseBody),
  };
}

/** Counts a finished call (its outcome: `ok` or the error class) and marks its span. */
function observe(span: Span, result: FulfillmentResult): FulfillmentResult {
  const outcome = result.ok ? "ok" : result.errorClass;
  fulfillmentCalls.inc({ outcome, status_class: statusClassLabel(result.httpStatus) });
  fulfillmentDuration.observe({ outcome }, result.latencyMs / 1000);
  span.setAttribute("cb.fulfillment_outcome", outcome);
  if (result.httpStatus) span.setAttribute("http.response.status_code", result.httpStatus);
  return result;
}

/** The webhook-id of a request: the same for every attempt and replay of it, so receivers can deduplicate. */
export const webhookIdOf = (request: Pick<WebhookRequest, "responseId">) => `msg_${request.responseId}`;

/**
 * Posts a request once, without the client's circuit breaker: what a replay from the admin API
 * does, to check a backend that was fixed, whatever the workers' breakers think of it.
 */
export async function postOnce(
  egress: Egress,
  endpoint: Endpoint,
  request: WebhookRequest,
  budgetMs = endpoint.timeoutMs,
): Promise<FulfillmentResult> {
  const started = performance.now();
  const body = JSON.stringify(request);
  const sent: { headers?: Record<string, string> } = {};
  try {
    return toResult(endpoint, body, sent, started, {
      posted: await post(egress, endpoint, body, webhookIdOf(request), budgetMs, sent),
    });
  } catch (err) {
    return toResult(endpoint, body, sent, started, { err });
  }
}

/**
 * Calls fulfillment endpoints within a time budget. One quick retry when the connection itself
 * failed and the budget allows; a circuit breaker per endpoint (opossum) so a dead backend costs
 * each user one fast fallback instead of a full timeout.
 */
export function createFulfillmentClient(
  egress: Egress,
  options: { breaker?: { volumeThreshold?: number; errorThresholdPercentage?: number; resetTimeoutMs?: number } } = {},
) {
  type Sent = { headers?: Record<string, string> };
  const breakers = new Map<string, CircuitBreaker<[Endpoint, string, string, number, Sent], Posted>>();
  const fire = (endpoint: Endpoint, body: string, id: string, budgetMs: number, sent: Sent) =>
    post(egress, endpoint, body, id, budgetMs, sent);

  function breakerFor(endpointId: string) {
    let breaker = breakers.get(endpointId);
    if (!breaker) {
      breaker = new CircuitBreaker(fire, {
        timeout: false, // the budget is enforced by the call itself
        volumeThreshold: options.breaker?.volumeThreshold ?? 3,
        errorThresholdPercentage: options.breaker?.errorThresholdPercentage ?? 50,
        // Probe soon after an outage (half-open: one trial call), so that users get the backend back
        // within a second or two of it recovering rather than the fallback for a long while.
        resetTimeout: options.breaker?.resetTimeoutMs ?? 1500,
        rollingCountTimeout: 30_000,
      });
      breakers.set(endpointId, breaker);
    }
    return breaker;
  }

  return {
    call(endpoint: Endpoint, request: WebhookRequest, budgetMs = endpoint.timeoutMs): Promise<FulfillmentResult> {
      return inSpan(
        "POST fulfillment",
        { kind: SpanKind.CLIENT, attributes: { "http.request.method": "POST", "cb.endpoint_id": endpoint.id } },
        async (span) => {
          const started = performance.now();
          const body = JSON.stringify(request);
          const sent: Sent = {};
          try {
            const posted = await breakerFor(endpoint.id).fire(endpoint, body, webhookIdOf(request), budgetMs, sent);
            return observe(span, toResult(endpoint, body, sent, started, { posted }));
          } catch (err) {
            return observe(span, toResult(endpoint, body, sent, started, { err }));
          }
        },
      );
    },
    shutdown() {
      for (const b of breakers.values()) b.shutdown();
    },
  };
}

export type FulfillmentClient = ReturnType<typeof createFulfillmentClient>;
