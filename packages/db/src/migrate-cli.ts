// `npm run migrate`: brings DATABASE_URL's schema up to date.
import { defaultLogger } from "@cb/logging";
import { migrate } from "./migrate.ts";

const url = process.env.DATABASE_URL;
if (!url) {
  defaultLogger().fatal("DATABASE_URL is required");
  process.exit(1);
}
await migrate(url);
defaultLogger().info("migrations applied");
