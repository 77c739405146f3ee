// Trainings and model reports run in threads beside the event loop that serves the turns; on a
// 2-core worker those threads and the sentence encoder's would otherwise share the cores with it in
// equal parts, and a turn waits its turn behind them. Linux gives each thread a nice value of its
// own (setpriority on the thread's id), so a background thread lowers its own: the scheduler then
// runs the event loop first whenever a turn is ready. No library sets a thread's priority (Node's
// os.setPriority takes an id, and the thread's own comes from /proc/thread-self); elsewhere than
// Linux nothing changes.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

/** The nice value of a background thread: at 10 it gets ~10% of a core a busy nice-0 thread wants. */
export const BACKGROUND_NICE = 10;

/** Lowers the calling thread's scheduling priority; its thread id, or null where that cannot be done. */
export function lowerThreadPriority(nice = BACKGROUND_NICE): number | null {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").at(-1));
    setPriority(tid, nice);
    return tid;
  } catch {
    return null;
  }
}
