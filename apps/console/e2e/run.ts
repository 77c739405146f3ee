// `npm run test:e2e`: the operator console in a real browser (Debian's chromium through
// playwright-core) against the whole system, on the PostgreSQL `npm test` uses
// (scripts/node-test.ts); each test file starts its own system on a fresh database (server, worker,
// the Telegram Bot API stand-in, the demo backends), one file at a time.
import { globSync } from "node:fs";
import { runNodeTests } from "../../../scripts/node-test.ts";

process.exit(await runNodeTests(globSync("apps/console/e2e/**/*.e2e.ts").sort(), 1));
