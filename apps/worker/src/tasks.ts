import {
  enqueueExpansion,
  expandInbound,
  EXPAND_INBOUND,
  HANDLE_MESSAGE,
  HANDOFF_IDLE,
  handleMessage,
  returnIdleHandoff,
  SEND_AGENT_MESSAGE,
  sendAgentMessage,
  type TurnDeps,
} from "@cb/conversation";
import type { Task, TaskList } from "@cb/jobs";

/** Every job this system runs, by graphile-worker identifier. */
export function createTaskList(deps: TurnDeps, more: Record<string, Task> = {}): TaskList {
  return {
    [EXPAND_INBOUND]: async (_payload, helpers) => {
      const { setAside, more } = await expandInbound(deps.pool);
      for (const row of setAside)
        helpers.logger.error(`inbound batch ${row.id} set aside, kept in "InboundBatch": ${row.error}`);
      // Rows left when the time budget ran out: another round, queued behind this one.
      if (more) await enqueueExpansion(deps.pool);
    },
    [HANDLE_MESSAGE]: async (payload) => {
      await handleMessage(deps, (payload as { messageId: string }).messageId);
    },
    [SEND_AGENT_MESSAGE]: async (payload) => {
      await sendAgentMessage(deps, (payload as { messageId: string }).messageId);
    },
    [HANDOFF_IDLE]: async (payload) => {
      await returnIdleHandoff(deps.pool, payload as { conversationId: string; handoffId: string });
    },
    ...more,
  };
}
