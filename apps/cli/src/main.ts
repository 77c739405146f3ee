#!/usr/bin/env -S node --import tsx
import { program } from "./program.ts";

try {
  await program(process.env, (value) => console.log(JSON.stringify(value, null, 2))).parseAsync(process.argv);
} catch (err) {
  console.error(`cb: ${(err as Error).message}`);
  process.exit(1);
}
