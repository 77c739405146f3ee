// Keeps the roles running as a process supervisor would: a role that exits without being told to
// is counted as a crash and started again; one killed on purpose (kill -9) is started again at once.
// Unlike bench:turn's roles, a role's death never ends the run: the benchmark measures what it costs.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { nodeFlags } from "../process.ts";

export interface Death {
  role: string;
  at: number;
  /** Killed by the benchmark (kill -9), as opposed to a crash. */
  killed: boolean;
  exit: string;
}

export interface Role {
  name: string;
  /** kill -9 now; the supervisor starts it again at once. */
  kill(): void;
}

// A crashing role is started again after a pause, so that one failing at start does not spin.
const CRASH_RESTART_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;

/** Roles write their output to `<logDir>/<name>.log`. */
export function createSupervisor(logDir: string) {
  const logs: number[] = [];
  const deaths: Death[] = [];
  const live = new Set<ChildProcess>();
  let stopping = false;
  const killAll = () => {
    for (const child of live) child.kill("SIGKILL");
  };
  // Whatever ends the benchmark, the roles go with it.
  process.once("exit", killAll);

  function supervise(name: string, entry: string, env: Record<string, string>): Role {
    let child: ChildProcess;
    let killedAt: number | undefined;
    const log = openSync(join(logDir, `${name}.log`), "a");
    logs.push(log);
    const start = () => {
      child = spawn(process.execPath, [...nodeFlags(entry), entry], {
        env: { ...process.env, ...env },
        stdio: ["ignore", log, log],
      });
      live.add(child);
      child.once("exit", (code, signal) => {
        live.delete(child);
        if (stopping) return;
        const killed = killedAt !== undefined;
        deaths.push({ role: name, at: killedAt ?? Date.now(), killed, exit: String(code ?? signal) });
        if (!killed) console.error(`${name} exited (${code ?? signal}) without being told to: starting it again`);
        killedAt = undefined;
        if (killed) start();
        else void sleep(CRASH_RESTART_MS).then(() => stopping || start());
      });
    };
    start();
    return {
      name,
      kill() {
        if (child.exitCode !== null || child.signalCode !== null) return; // dead already, restarting
        killedAt = Date.now();
        child.kill("SIGKILL");
      },
    };
  }

  return {
    supervise,
    deaths,
    /** Crashes so far: exits the benchmark did not cause. */
    crashes: () => deaths.filter((d) => !d.killed).length,
    /** SIGTERM to every role, then SIGKILL to any still running after 15 s. */
    async stopAll(): Promise<void> {
      stopping = true;
      await Promise.all(
        [...live].map(async (child) => {
          const exited = new Promise((resolve) => child.once("exit", resolve));
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }),
      );
      for (const log of logs) closeSync(log);
      process.removeListener("exit", killAll);
    },
  };
}
