// A server process for the ingest benchmark: `bare` answers {ok:true} on one route (the ceiling a
// fastify process reaches here), `ingest` is the real web role's webhook path (verify, normalize,
// store and enqueue with group commit). Prints its URL on stdout.
import Fastify from "fastify";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory, createIngestor } from "@cb/conversation";
import { createDb, createPool } from "@cb/db";
import { startTracing } from "@cb/observability";
import { createSealer, parseKeyRing } from "@cb/secrets";
import { buildServer } from "@cb/server";

const mode = process.argv[2];
if (mode === "bare") {
  const app = Fastify({ logger: false });
  app.post("/webhook", async () => ({ ok: true }));
  console.log(await app.listen({ port: 0, host: "127.0.0.1" }));
} else {
  // As the web role: traces only when OTEL_EXPORTER_OTLP_ENDPOINT is set (the turn benchmark's tracing mode).
  startTracing({ serviceName: "bench-web" });
  const url = process.env.DATABASE_URL!;
  const pool = createPool(url, { max: 10 });
  const db = createDb(pool);
  const sealer = createSealer(parseKeyRing(process.env.SECRETS_KEYS!));
  const ingestor = createIngestor({ connectionString: url, concurrency: Number(process.env.INGEST_CONCURRENCY ?? 2) });
  const app = await buildServer({
    db,
    ingestor,
    accounts: createAccountDirectory({ db, sealer, drivers: [telegramDriver], env: {} }),
    drivers: [telegramDriver],
    metrics: {},
    // The web role refuses sources that keep failing verification; FORGERY_LIMIT=off measures without.
    ...(process.env.FORGERY_LIMIT === "off" ? {} : { forgeryLimit: { pool } }),
  });
  console.log(await app.listen({ port: 0, host: "127.0.0.1" }));
  process.once("SIGTERM", () => {
    const { transactions, inboxAppends, requests, writeMs } = ingestor.stats();
    console.error(
      `ingest: ${transactions} transactions (${inboxAppends} to the inbox), ${(requests / transactions).toFixed(1)} requests each, ${(writeMs / transactions).toFixed(2)} ms each`,
    );
    process.exit(0);
  });
}
