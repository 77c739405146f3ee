import { pendingMigrations, type Db } from "@cb/db";
import type { FastifyPluginAsync } from "fastify";

/** /healthz: the process answers. /readyz: the database answers and its schema is this build's. */
export const health: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    try {
      const pending = await pendingMigrations((sql) => db.$queryRawUnsafe(sql));
      if (pending.length) return reply.code(503).send({ status: "unavailable", reason: "migrations pending", pending });
      return { status: "ready" };
    } catch {
      return reply.code(503).send({ status: "unavailable", reason: "database unreachable" });
    }
  });
};
