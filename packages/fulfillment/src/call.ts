import { EgressError, type Egress } from "@cb/egress";
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

class CallFailure extends Error {
  constructor(
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
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
          headers: { ...headers, ...signed },
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
    async call(endpoint: Endpoint, request: WebhookRequest, budgetMs = endpoint.timeoutMs): Promise<FulfillmentResult> {
      const started = performance.now();
      const body = JSON.stringify(request);
      try {
        const { response, httpStatus } = await breakerFor(endpoint.id).fire(
          endpoint,
          body,
          `msg_${request.responseId}`,
          budgetMs,
        );
        return { ok: true, response, httpStatus, latencyMs: performance.now() - started };
      } catch (err) {
        const latencyMs = performance.now() - started;
        if ((err as { code?: string }).code === "EOPENBREAKER")
          return {
            ok: false,
            error: "circuit open: the endpoint failed repeatedly; not called",
            latencyMs,
            circuitOpen: true,
          };
        const failure = err as CallFailure;
        return {
          ok: false,
          error: failure.message,
          ...(failure.httpStatus ? { httpStatus: failure.httpStatus } : {}),
          latencyMs,
        };
      }
    },
    shutdown() {
      for (const b of breakers.values()) b.shutdown();
    },
  };
}

export type FulfillmentClient = ReturnType<typeof createFulfillmentClient>;
