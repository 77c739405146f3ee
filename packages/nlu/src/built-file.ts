import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * `file`, built by `build` unless it is there already (at install, or on first use): written aside
 * under a name of its own and renamed, so that processes, or threads of one process, building at
 * once each leave a whole file and never a half-written one.
 */
export function builtFile(file: string, build: () => Uint8Array): string {
  if (existsSync(file)) return file;
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.${randomUUID()}.partial`;
  writeFileSync(partial, build());
  renameSync(partial, file);
  return file;
}
