import { pendingMigrations, type Pool } from "@cb/db";
import type { JobRunner } from "@cb/jobs";
import { metricsRoute } from "@cb/observability";
import Fastify, { type FastifyInstance } from "fastify";

export interface WorkerHealthOptions {
  /** The role's runner: not ready while it is stopped, or failed and not yet started again. */
  runner: JobRunner;
  /** The role's pool, so readiness fails when the role itself cannot reach the database. */
  pool: Pool;
  host: string;
  /** 0: a free port (see url). */
  port: number;
  /** METRICS_TOKEN: GET /metrics then needs it as a bearer token. */
  metricsToken?: string | undefined;
}

/**
 * The worker role's health server (it has no other port): /healthz, the process answers; /readyz,
 * the job runner runs and the database answers with this build's schema; /metrics, the process's
 * metrics (Prometheus). Probes come every few seconds: they are not logged.
 */
export async function startWorkerHealth(
  options: WorkerHealthOptions,
): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    if (!options.runner.running) return reply.code(503).send({ status: "unavailable", reason: "job runner stopped" });
    try {
      const pending = await pendingMigrations(async (sql) => (await options.pool.query(sql)).rows);
      if (pending.length) return reply.code(503).send({ status: "unavailable", reason: "migrations pending", pending });
      return { status: "ready" };
    } catch {
      return reply.code(503).send({ status: "unavailable", reason: "database unreachable" });
    }
  });
  await app.register(metricsRoute, { token: options.metricsToken });
  const url = await app.listen({ host: options.host, port: options.port });
  return { app, url, close: () => app.close() };
}
