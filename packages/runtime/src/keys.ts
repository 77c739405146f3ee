import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { generateKey } from "@cb/secrets";

/**
 * The secrets key ring for the embedded (single-machine) setup: generated once and kept beside the
 * embedded database, readable by its owner only. Real deployments pass SECRETS_KEYS instead.
 */
export async function localKeyRing(path: string): Promise<string> {
  if (existsSync(path)) return (await readFile(path, "utf8")).trim();
  await mkdir(dirname(path), { recursive: true });
  const ring = generateKey(`k${Date.now().toString(36)}`);
  await writeFile(path, `${ring}\n`, { mode: 0o600 });
  return ring;
}
