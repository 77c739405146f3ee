// The web role with its admin API on a test database of its own, as most server tests need it.
import type { AdminApiOptions } from "@cb/admin-api";
import type { ChannelDriver } from "@cb/core";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing, type Sealer } from "@cb/secrets";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

/** The deployment's operator token (ADMIN_TOKEN): it creates tenants. */
export const OPERATOR = "operator-token-0123456789";

export interface AdminServer {
  t: TestDatabase;
  app: FastifyInstance;
  ingestor: Ingestor;
  sealer: Sealer;
  /** A tenant created through the API, as a deployment's operator does: its id and first admin key. */
  tenant(name: string): Promise<{ tenantId: string; key: string }>;
  close(): Promise<void>;
}

export async function startAdminServer(
  options: { drivers?: ChannelDriver[]; admin?: Partial<AdminApiOptions> } = {},
): Promise<AdminServer> {
  const t = await createTestDatabase();
  const sealer = createSealer(parseKeyRing(generateKey("test")));
  const drivers = options.drivers ?? [];
  const ingestor = createIngestor({ connectionString: t.url });
  const app = await buildServer({
    db: t.db,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers, env: {} }),
    ingestor,
    drivers,
    admin: { db: t.db, sealer, channelEnv: {}, operatorToken: OPERATOR, ...options.admin },
  });
  return {
    t,
    app,
    ingestor,
    sealer,
    async tenant(name) {
      const response = await app.inject({
        method: "POST",
        url: "/v1/tenants",
        headers: { authorization: `Bearer ${OPERATOR}` },
        payload: { name },
      });
      const created = response.json();
      return { tenantId: created.tenant.id, key: created.apiKey.key };
    },
    async close() {
      await app.close();
      await ingestor.close();
      await t.drop();
    },
  };
}

/** Rows in every table of the schema: what a refused request must leave as it was. */
export async function rowCounts(pool: TestDatabase["pool"]): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of rows) {
    const { rows: found } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
    counts[name] = Number(found[0]!.n);
  }
  return counts;
}
