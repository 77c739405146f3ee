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

/** Fastify's message, with the field named where ajv refused one it does not know. */
function validationMessage(error: FastifyError): string {
  const unknown = error.validation
    ?.map((v) => (v.params as { additionalProperty?: string }).additionalProperty)
    .filter((name) => name !== undefined);
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
