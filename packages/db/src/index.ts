export {
  POOL_TIMEOUTS,
  createDb,
  createPool,
  prismaSql,
  transaction,
  withoutClient,
  type Db,
  type Pool,
  type Sql,
} from "./client.ts";
export { withRank, type Rank } from "./connection-order.ts";
export { storableJson } from "./json.ts";
export { migrate, pendingMigrations } from "./migrate.ts";
export { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded.ts";
export * from "./generated/prisma/client.ts";
export { isDatabaseUnavailable, untilDatabaseAnswers } from "./unavailable.ts";
