import { EgressError, type Egress } from "@cb/egress";
import {
  fulfillmentCalls,
  fulfillmentDuration,
  inSpan,
  type Span,
  SpanKind,
  statusClass,
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

export type FulfillmentResult =
  | { ok: true; response: WebhookResponse; httpStatus: number; latencyMs: number }
  | { ok: false; error: string; httpStatus?: number; latencyMs: number; circuitOpen?: boolean };

export const MAX_RESPONSE_BYTES = 64 * 1024;

/** A failed call's kind, the `outcome` label of the fulfillment metrics. */
type FailureKind = "http_error" | "invalid_response" | "timeout" | "failed";

class CallFailure extends Error {
  constructor(
    message: string,
    readonly httpStatus?: number,
    readonly kind: FailureKind = httpStatus ? "http_error" : "invalid_response",
  ) {
    super(message);
  }
}

/** Counts a finished call and marks its span. */
function observe(span: Span, result: FulfillmentResult, kind: FailureKind | "ok" | "circuit_open"): FulfillmentResult {
  fulfillmentCalls.inc({ outcome: kind, status_class: statusClass(result.httpStatus) });
  fulfillmentDuration.observe({ outcome: kind }, result.latencyMs / 1000);
  span.setAttribute("cb.fulfillment_outcome", kind);
  if (result.httpStatus) span.setAttribute("http.response.status_code", result.httpStatus);
  return result;
}

function parseResponse(body: Buffer): WebhookResponse {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8") || "{}");
  } catch {
    throw new CallFailure("the response is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new CallFailure("the response is not a JSON object");
  const invalid = whyInvalid(value);
  if (invalid) throw new CallFailure(`invalid answer: ${invalid}`);
  return value as CheckedWebhookResponse;
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
  const breakers = new Map<
    string,
    CircuitBreaker<[Endpoint, string, string, number], { response: WebhookResponse; httpStatus: number }>
  >();

  async function post(endpoint: Endpoint, body: string, id: string, budgetMs: number) {
    const headers: Record<string, string> = { "content-type": "application/json", ...(endpoint.auth?.headers ?? {}) };
    if (endpoint.auth?.basic)
      headers.authorization = `Basic ${Buffer.from(`${endpoint.auth.basic.username}:${endpoint.auth.basic.password}`).toString("base64")}`;
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      const left = budgetMs - (performance.now() - started);
      const signed = endpoint.auth?.signingSecrets?.length
        ? signatureHeaders(endpoint.auth.signingSecrets, id, body)
        : {};
      try {
        const response = await egress.request(endpoint.url, {
          method: "POST",
          // The call's span as the backend's parent (W3C traceparent), when tracing is on.
          headers: { ...headers, ...signed, ...traceHeaders() },
          body,
          timeoutMs: left,
          maxBytes: MAX_RESPONSE_BYTES,
        });
        if (response.status < 200 || response.status >= 300)
          throw new CallFailure(`the endpoint answered HTTP ${response.status}`, response.status);
        return { response: parseResponse(response.body), httpStatus: response.status };
      } catch (err) {
        const retry =
          err instanceof EgressError &&
          err.code === "connect_failed" &&
          attempt === 1 &&
          performance.now() - started < budgetMs / 2;
        if (retry) continue;
        if (err instanceof EgressError)
          throw new CallFailure(
            err.code === "too_large" ? `the response is larger than ${MAX_RESPONSE_BYTES} bytes` : err.message,
            undefined,
            err.code === "too_large" ? "invalid_response" : err.code === "timeout" ? "timeout" : "failed",
          );
        throw err;
      }
    }
  }

  function breakerFor(endpointId: string) {
    let breaker = breakers.get(endpointId);
    if (!breaker) {
      breaker = new CircuitBreaker(post, {
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
        (span) => call(span, endpoint, request, budgetMs),
      );
    },
    shutdown() {
      for (const b of breakers.values()) b.shutdown();
    },
  };

  async function call(
    span: Span,
    endpoint: Endpoint,
    request: WebhookRequest,
    budgetMs: number,
  ): Promise<FulfillmentResult> {
    const started = performance.now();
    const body = JSON.stringify(request);
    try {
      const { response, httpStatus } = await breakerFor(endpoint.id).fire(
        endpoint,
        body,
        `msg_${request.responseId}`,
        budgetMs,
      );
      return observe(span, { ok: true, response, httpStatus, latencyMs: performance.now() - started }, "ok");
    } catch (err) {
      const latencyMs = performance.now() - started;
      if ((err as { code?: string }).code === "EOPENBREAKER")
        return observe(
          span,
          {
            ok: false,
            error: "circuit open: the endpoint failed repeatedly; not called",
            latencyMs,
            circuitOpen: true,
          },
          "circuit_open",
        );
      const failure = err as CallFailure;
      return observe(
        span,
        {
          ok: false,
          error: failure.message,
          ...(failure.httpStatus ? { httpStatus: failure.httpStatus } : {}),
          latencyMs,
        },
        failure instanceof CallFailure ? failure.kind : "failed",
      );
    }
  }
}

export type FulfillmentClient = ReturnType<typeof createFulfillmentClient>;
