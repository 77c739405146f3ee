import {
  type Span,
  SpanKind,
  SpanStatusCode,
  startSpan,
  webhooksAcknowledged,
  webhooksReceived,
  webhooksRejected,
  withSpan,
} from "@cb/observability";
import type { FastifyInstance, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    /** The webhook's channel (a registered driver's), when the request is a webhook. */
    webhookChannel?: string;
    webhookSpan?: Span;
    /** The error code answered, for the rejection metric. */
    rejectReason?: string;
  }
}

// An error code of ours (`invalid_signature`, `unknown_account`, …): a bounded label. Anything else
// an answer might carry is reduced to its HTTP status.
const CODE = /^[a-z][a-z0-9_]{0,39}$/;

function reasonOf(payload: unknown, status: number): string {
  if (typeof payload === "string") {
    try {
      const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
      if (typeof code === "string" && CODE.test(code)) return code;
    } catch {
      // not JSON: the status says it
    }
  }
  return `http_${status}`;
}

/**
 * Webhook metrics and the webhook's span: every request under /webhooks/<channel> of a known channel
 * is counted as received, then as acknowledged (2xx) or rejected (by the error code answered). Its
 * span is active while the route runs, so the ingest records its traceparent with the messages.
 */
export function observeWebhooks(app: FastifyInstance, channels: string[]): void {
  const known = new Set(channels);
  const channelOf = (request: FastifyRequest) => {
    const url = request.routeOptions.url ?? request.url;
    if (!url.startsWith("/webhooks/")) return undefined;
    const channel = url.split("/")[2]?.split("?")[0];
    return channel && known.has(channel) ? channel : undefined;
  };
  app.decorateRequest("webhookChannel", undefined);
  app.decorateRequest("webhookSpan", undefined);
  app.decorateRequest("rejectReason", undefined);
  app.addHook("onRequest", async (request) => {
    const channel = channelOf(request);
    if (!channel) return;
    request.webhookChannel = channel;
    webhooksReceived.inc({ channel });
    request.webhookSpan = startSpan(`POST /webhooks/${channel}`, {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": request.method,
        "http.route": request.routeOptions.url ?? "",
        "cb.channel": channel,
      },
    });
  });
  // The body is parsed; the handler runs inside the callback, and so inside the span.
  app.addHook("preHandler", (request, _reply, done) => withSpan(request.webhookSpan, done));
  app.addHook("onSend", async (request, reply, payload) => {
    if (request.webhookChannel && reply.statusCode >= 400) request.rejectReason = reasonOf(payload, reply.statusCode);
    return payload;
  });
  app.addHook("onResponse", async (request, reply) => {
    const channel = request.webhookChannel;
    if (!channel) return;
    const status = reply.statusCode;
    if (status < 400) webhooksAcknowledged.inc({ channel });
    else webhooksRejected.inc({ channel, reason: request.rejectReason ?? `http_${status}` });
    const span = request.webhookSpan;
    if (span) {
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  });
}
