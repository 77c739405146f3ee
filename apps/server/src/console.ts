import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";

export const CONSOLE_PREFIX = "/console";
// Vite names every built asset after its content hash: a changed file is a new URL, so browsers keep
// them for good. index.html names the current ones, so it is checked on every visit.
const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";
// The console is its own scripts and styles only, never framed.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** True when `dir` holds a built console (`npm run build`). */
export const consoleBuilt = (dir: string) => existsSync(join(dir, "index.html"));

/**
 * The operator console's built files at /console. Any other path under it is one of the app's own
 * pages (it routes in the browser), answered with index.html; a missing file (a path with an
 * extension) stays a 404.
 */
export const operatorConsole: FastifyPluginAsync<{ dir: string }> = async (app, { dir }) => {
  await app.register(fastifyStatic, {
    root: dir,
    prefix: `${CONSOLE_PREFIX}/`,
    // Routes for the files present at start-up; the fallback below takes every other path.
    wildcard: false,
    cacheControl: false,
    setHeaders(reply, path) {
      reply.header("cache-control", path.startsWith(join(dir, "assets")) ? IMMUTABLE : REVALIDATE);
      reply.header("content-security-policy", CSP);
      reply.header("x-content-type-options", "nosniff");
    },
  });
  app.get(CONSOLE_PREFIX, (_request, reply) => reply.redirect(`${CONSOLE_PREFIX}/`));
  app.get(`${CONSOLE_PREFIX}/*`, (request, reply) => {
    const last = request.url.split("?")[0]!.split("/").at(-1) ?? "";
    if (last.includes("."))
      return reply.code(404).send({ error: { code: "not_found", message: `no console file ${last}` } });
    return reply.sendFile("index.html");
  });
};
