/**
 * Runs `task` every `intervalMs` (and at once with `now`), each run after the one before has
 * ended; a failure goes to `onError` and the next run still comes. `stop` waits for the run under way.
 */
export function every(
  intervalMs: number,
  task: () => Promise<unknown>,
  onError: (err: unknown) => void,
  options: { now?: boolean } = {},
): { stop(): Promise<void> } {
  let running: Promise<unknown> = options.now ? task().catch(onError) : Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(task).catch(onError);
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
