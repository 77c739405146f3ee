// `npm run migrate`: brings DATABASE_URL's schema up to date.
import { migrate } from "./migrate.ts";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("DATABASE_URL is required");
  process.exit(1);
}
await migrate(url);
console.log("migrations applied");
