import PQueue from "p-queue";

/** A platform's sending limit: at most `cap` calls started per `intervalMs`, `concurrency` at once. */
export interface RateLimit {
  cap: number;
  intervalMs: number;
  concurrency?: number;
}

/** Runs a call within the limit: at once while there is room, else as soon as there is. */
export type Limiter = <T>(call: () => Promise<T>) => Promise<T>;

/**
 * One limit per key (a bot's, a chat's, a phone number's). A key's queue is dropped once it has
 * been idle for a whole interval, when its budget would be whole again anyway, so that millions of
 * chats do not each keep one.
 */
export function keyedRateLimiter({ cap, intervalMs, concurrency = Infinity }: RateLimit): (key: string) => Limiter {
  const queues = new Map<string, PQueue>();
  function open(key: string): PQueue {
    // p-queue starts a call at once while the budget allows (Bottleneck, used before, waited on
    // timers at every step: about 10 ms before each message, half a turn's latency). Strict: a
    // sliding window, as platforms count, rather than fixed windows that let twice the cap through
    // across a boundary.
    const queue = new PQueue({ intervalCap: cap, interval: intervalMs, concurrency, strict: true });
    let forget: NodeJS.Timeout | undefined;
    queue.addEventListener("active", () => clearTimeout(forget));
    queue.addEventListener("idle", () => {
      forget = setTimeout(() => {
        if (queue.size === 0 && queue.pending === 0) queues.delete(key);
      }, intervalMs).unref();
    });
    queues.set(key, queue);
    return queue;
  }
  return (key) => (call) => (queues.get(key) ?? open(key)).add(call);
}
