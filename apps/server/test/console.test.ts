import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createDb, createPool, type Pool } from "@cb/db";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

// Serving static files reaches no database: one nobody listens on keeps the test honest about that.
const NO_DATABASE = "postgresql://nobody@127.0.0.1:9/none";
const INDEX = '<!doctype html><div id="root"></div><script type="module" src="/console/assets/app-3f2a1b.js"></script>';
let dir: string;
let pool: Pool;
let ingestor: Ingestor;
let app: FastifyInstance;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "console-dist-"));
  await mkdir(join(dir, "assets"));
  await writeFile(join(dir, "index.html"), INDEX);
  await writeFile(join(dir, "assets", "app-3f2a1b.js"), "console.log('console');");
  pool = createPool(NO_DATABASE, { max: 1 });
  const db = createDb(pool);
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  ingestor = createIngestor({ connectionString: NO_DATABASE });
  app = await buildServer({
    db,
    accounts: createAccountDirectory({ db, sealer, drivers: [], env: {} }),
    ingestor,
    drivers: [],
    admin: { db, sealer, channelEnv: {}, operatorToken: "operator-token-0123456789" },
    consoleDir: dir,
  });
});
after(async () => {
  await app.close();
  await ingestor.close();
  await pool.end();
  await rm(dir, { recursive: true, force: true });
});

test("the console's pages are index.html, checked again on every visit, and framed by no one", async () => {
  for (const url of [
    "/console/",
    "/console/conversations",
    "/console/conversations/7c1d?mode=human",
    "/console/health/endpoints/x",
  ]) {
    const response = await app.inject(url);
    assert.equal(response.statusCode, 200, url);
    assert.equal(response.body, INDEX, url);
    assert.match(String(response.headers["content-type"]), /^text\/html/, url);
    assert.equal(response.headers["cache-control"], "no-cache", url);
    assert.match(
      String(response.headers["content-security-policy"]),
      /default-src 'self'.*frame-ancestors 'none'/,
      url,
    );
  }
  const bare = await app.inject("/console");
  assert.equal(bare.statusCode, 302);
  assert.equal(bare.headers.location, "/console/");
});

test("hashed assets are cached for good; a missing file is a 404, not the app", async () => {
  const asset = await app.inject("/console/assets/app-3f2a1b.js");
  assert.equal(asset.statusCode, 200);
  assert.equal(asset.body, "console.log('console');");
  assert.equal(asset.headers["cache-control"], "public, max-age=31536000, immutable");
  assert.equal(asset.headers["x-content-type-options"], "nosniff");
  const missing = await app.inject("/console/assets/app-000000.js");
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, "not_found");
});

test("the API beside the console is unchanged", async () => {
  assert.equal((await app.inject("/v1/intents")).statusCode, 401);
  assert.equal((await app.inject("/healthz")).json().status, "ok");
});
