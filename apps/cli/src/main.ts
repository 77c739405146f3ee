#!/usr/bin/env -S node --import tsx
import { program } from "./program.ts";

try {
  await program(process.env, (text) => console.log(text)).parseAsync(process.argv);
} catch (err) {
  console.error(`cb: ${(err as Error).message}`);
  process.exit(1);
}
