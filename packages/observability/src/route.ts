import { timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import { registry } from "./metrics.ts";

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? "");
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * GET /metrics: the process's metrics in Prometheus' text format. With a token (METRICS_TOKEN),
 * only `Authorization: Bearer <token>` gets them (401 otherwise). Scrapes are not logged.
 */
export const metricsRoute: FastifyPluginAsync<{ token?: string | undefined }> = async (app, { token }) => {
  app.get("/metrics", { logLevel: "warn" }, async (request, reply) => {
    if (token && !bearerMatches(request.headers.authorization, token))
      return reply
        .code(401)
        .header("www-authenticate", "Bearer")
        .send({ error: { code: "unauthorized", message: "metrics need Authorization: Bearer <METRICS_TOKEN>" } });
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
};
