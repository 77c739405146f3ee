import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/**
 * Node's flags for a role's entry point, as docker/start.sh runs them: a small young generation for
 * the web role (its memory), a larger one for the worker, whose in-flight turns' objects otherwise
 * outlive the young generation's collections and are collected again, at more cost, as old ones.
 */
export function nodeFlags(entry: string): string[] {
  const semiSpaceMb = entry.endsWith("worker/src/main.ts") ? 16 : 4;
  return [`--max-semi-space-size=${semiSpaceMb}`, "--import", "tsx"];
}

/** Roles the benchmark itself is stopping: any other role that exits ends the run. */
const stopping = new WeakSet<ChildProcess>();

/**
 * Starts a TypeScript entry point in its own Node process, which ends with the benchmark's, even
 * when that fails. A role that dies during the run ends the benchmark at once, with its exit code
 * (its own error is on stderr): its share of the work would otherwise be counted as lost.
 */
export function spawnRole(
  entry: string,
  args: string[],
  env: Record<string, string | undefined>,
  stdout: "pipe" | "ignore",
): ChildProcess {
  const child = spawn(process.execPath, [...nodeFlags(entry), entry, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", stdout, "inherit"],
  });
  process.once("exit", () => child.kill());
  child.once("exit", (code, signal) => {
    if (stopping.has(child)) return;
    console.error(`${entry} exited (${code ?? signal}) during the benchmark`);
    process.exit(1);
  });
  return child;
}

/** Starts a TypeScript entry point in its own Node process and waits for the URL it prints. */
export async function startProcess(
  entry: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnRole(entry, args, env, "pipe");
  // A role that exits before printing its URL ends the benchmark (see spawnRole).
  const url = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
  return { child, url };
}

/** The process's peak resident memory so far (Linux VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmHWM:"));
  return Math.round(Number(line?.match(/\d+/)?.[0] ?? 0) / 1024);
}

// /proc counts CPU time in USER_HZ ticks, a fixed 100 a second in Linux's user-space ABI.
const USER_HZ = 100;

/** CPU seconds a process has used so far (Linux /proc), or null when it is not on this machine. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (in parentheses, which may hold spaces); utime and stime are the 14th and 15th.
    const [utime, stime] = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .slice(11, 13)
      .map(Number);
    return (utime! + stime!) / USER_HZ;
  } catch {
    return null;
  }
}

export async function stop(child: ChildProcess): Promise<void> {
  stopping.add(child);
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}
