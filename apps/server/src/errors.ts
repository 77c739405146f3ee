import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { HttpError } from "@cb/core";
import { isDatabaseUnavailable } from "@cb/db";
import type { FastifyError, FastifyInstance } from "fastify";

/** Fastify's own failures, named for API users. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "invalid_json",
  FST_ERR_CTP_EMPTY_JSON_BODY: "invalid_json",
  FST_ERR_CTP_BODY_TOO_LARGE: "body_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "invalid_content_length",
};

/** Fastify's message, with the fields named where a schema refused ones it does not know (ajv's or TypeBox's report). */
function validationMessage(error: FastifyError): string {
  const unknown = error.validation?.flatMap((v) => {
    const params = v.params as { additionalProperty?: string; additionalProperties?: string[] };
    return params.additionalProperty !== undefined ? [params.additionalProperty] : (params.additionalProperties ?? []);
  });
  return unknown?.length ? `${error.message}: ${unknown.map((name) => `"${name}"`).join(", ")}` : error.message;
}

/**
 * Every error leaves as `{ "error": { "code", "message", "details"? } }`. Server faults say nothing
 * of their cause (it may hold secrets or internals); they are logged instead.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).send({
        error: {
          code: error.code,
          message: error.message,
          ...(error.details !== undefined ? { details: error.details } : {}),
        },
      });
    }
    if (error.validation) {
      return reply
        .code(400)
        .send({ error: { code: "validation_failed", message: validationMessage(error), details: error.validation } });
    }
    // The database restarting or failing over: platforms redeliver a 503, and the role recovers by itself.
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, "database unavailable");
      return reply
        .code(503)
        .header("retry-after", "5")
        .send({ error: { code: "unavailable", message: "the service is briefly unavailable; try again shortly" } });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      const code = (error.code && FASTIFY_CODES[error.code]) ?? "bad_request";
      const message = code === "invalid_json" ? "the body is not valid JSON" : error.message;
      return reply.code(status).send({ error: { code, message } });
    }
    request.log.error({ err: error }, "request failed");
    return reply
      .code(500)
      .send({ error: { code: "internal_error", message: "something went wrong on our side; it has been logged" } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: { code: "not_found", message: `no route for ${request.method} ${request.url.split("?")[0]}` } }),
  );
}

/**
 * Requests Node refuses before Fastify has a request (a URL and headers past Node's 16 KiB limit, a
 * request that is not HTTP): answered in the same JSON error shape as the rest, then closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "headers_too_large", "the request's URL and headers are larger than the server takes"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "request_timeout", "the request took too long to arrive"]
        : [400, "bad_request", "the request is not valid HTTP"];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(error);
}
