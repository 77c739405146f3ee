// Prisma's CLI drives migrations through the pg driver adapter and its WASM engine, so it needs
// no native engine download (the machines this runs on have no route to Prisma's binary host).
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";
import { DriverAdapterError } from "@prisma/driver-adapter-utils";
import type { DatabaseError } from "pg";

/**
 * adapter-pg runs a migration split at every ";", which cuts apart a function body (and any
 * literal holding a semicolon). Sent whole as one simple query, the script is parsed by PostgreSQL
 * itself and runs in one implicit transaction: a migration that fails leaves nothing half done.
 * (So a migration cannot hold statements that refuse a transaction, such as CREATE INDEX
 * CONCURRENTLY.)
 */
class PrismaPgWholeScripts extends PrismaPg {
  override async connect() {
    const adapter = await super.connect();
    adapter.executeScript = async (script) => {
      try {
        await adapter.underlyingDriver().query(script);
      } catch (err) {
        // As adapter-pg reports it, so that Prisma prints PostgreSQL's message and code.
        const e = err as DatabaseError;
        throw new DriverAdapterError({
          kind: "postgres",
          code: e.code ?? "",
          severity: e.severity ?? "ERROR",
          message: e.message,
          detail: e.detail,
          column: e.column,
          hint: e.hint,
        });
      }
    };
    return adapter;
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  async adapter() {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is required for Prisma CLI commands");
    return new PrismaPgWholeScripts({ connectionString });
  },
});
