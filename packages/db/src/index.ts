export { createDb, type Db } from "./client.ts";
export { migrate, pendingMigrations } from "./migrate.ts";
export { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded.ts";
export * from "./generated/prisma/client.ts";
