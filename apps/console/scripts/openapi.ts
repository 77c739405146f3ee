// `npm run openapi -w @cb/console`: regenerates src/api/schema.d.ts after a change to the admin API.
import { writeFile } from "node:fs/promises";
import { SCHEMA_FILE, schemaSource } from "./schema.ts";

await writeFile(SCHEMA_FILE, await schemaSource());
console.log(`wrote ${SCHEMA_FILE.pathname}`);
