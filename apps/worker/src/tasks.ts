import { HANDLE_MESSAGE, handleMessage, type TurnDeps } from "@cb/conversation";
import type { Task, TaskList } from "@cb/jobs";

/** Every job this system runs, by graphile-worker identifier. */
export function createTaskList(deps: TurnDeps, more: Record<string, Task> = {}): TaskList {
  return {
    [HANDLE_MESSAGE]: async (payload) => {
      await handleMessage(deps, (payload as { messageId: string }).messageId);
    },
    ...more,
  };
}
