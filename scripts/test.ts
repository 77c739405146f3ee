// `npm test`: every package's and app's tests in one node:test run, against a real PostgreSQL
// (scripts/node-test.ts). `npm test -- <fragment> ...` runs the files whose path contains one.
import { globSync } from "node:fs";
import { runNodeTests } from "./node-test.ts";

const files = globSync(["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts", "docker/test/**/*.test.ts"]).sort();
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((part) => f.includes(part))) : files;
process.exit(await runNodeTests(selected, 2));
