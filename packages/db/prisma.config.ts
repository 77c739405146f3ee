// Prisma's CLI drives migrations through the pg driver adapter and its WASM engine, so it needs
// no native engine download (the machines this runs on have no route to Prisma's binary host).
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  async adapter() {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is required for Prisma CLI commands");
    return new PrismaPg({ connectionString });
  },
});
