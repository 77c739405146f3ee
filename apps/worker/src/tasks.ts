import {
  answerConversation,
  enqueueExpansion,
  expandInbound,
  EXPAND_INBOUND,
  HANDLE_MESSAGE,
  type AnswerOptions,
  HANDOFF_IDLE,
  returnIdleHandoff,
  SEND_AGENT_MESSAGE,
  sendAgentMessage,
  type TurnDeps,
} from "@cb/conversation";
import type { Db, Pool } from "@cb/db";
import type { Task, TaskList } from "@cb/jobs";
import type { Logger } from "@cb/logging";
import {
  pruneModels,
  sweepUntrained,
  trainLater,
  trainTenantModel,
  TRAIN_NLU_MODEL,
  TRAINING_SWEEP,
  type SentenceEncoder,
  type Trainer,
} from "@cb/nlu";

/** Every job this system runs, by graphile-worker identifier. */
export function createTaskList(
  deps: TurnDeps,
  more: Record<string, Task> = {},
  answering: Omit<AnswerOptions, "signal"> = {},
): TaskList {
  return {
    [EXPAND_INBOUND]: async (_payload, helpers) => {
      const { setAside, more } = await expandInbound(deps.pool);
      for (const row of setAside)
        helpers.logger.error(`inbound batch ${row.id} set aside, kept in "InboundBatch": ${row.error}`);
      // Rows left when the time budget ran out: another round, queued behind this one.
      if (more) await enqueueExpansion(deps.pool);
    },
    // A message's job answers its conversation's waiting messages, earliest first (drain.ts).
    [HANDLE_MESSAGE]: async (payload, helpers) => {
      const { failed, retrying, outages } = await answerConversation(
        deps,
        (payload as { messageId: string }).messageId,
        { ...answering, signal: helpers.abortSignal },
      );
      for (const o of outages ?? [])
        helpers.logger.warn(`message ${o.messageId}: turn failed as the database went away, tried again: ${o.error}`);
      for (const f of failed) helpers.logger.error(`message ${f.messageId} failed after its last attempt: ${f.error}`);
      if (retrying)
        helpers.logger.warn(
          `message ${retrying.messageId} failed (attempt ${retrying.attempts}), tried again at ${retrying.retryAt.toISOString()}; its conversation waits: ${retrying.error}`,
        );
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

/**
 * A tenant's NLU training (enqueued by a trigger whenever its training data changes, and by a sweep
 * every five minutes for tenants without a current model), in a worker thread; the job's time limit
 * ends the thread. A failure is logged with its tenant and retried.
 */
export function createTrainingTasks(deps: {
  db: Db;
  pool: Pool;
  trainer: Trainer;
  logger: Logger;
  /** The process's sentence encoder, when NLU_SENTENCE_ENCODER is on. */
  encoder?: SentenceEncoder;
  /** How long a job refused by a busy trainer waits before it comes back (BUSY_RETRY_MS, and up to as much again). */
  busyRetryMs?: number;
}): TaskList {
  return {
    [TRAIN_NLU_MODEL]: async (payload, helpers) => {
      const { tenantId } = payload as { tenantId: string };
      try {
        const outcome = await trainTenantModel(deps.db, tenantId, {
          trainer: deps.trainer,
          pool: deps.pool,
          signal: helpers.abortSignal,
          logger: deps.logger,
          ...(deps.encoder ? { encoder: deps.encoder } : {}),
        });
        // This worker's training threads are all taken (it fetched a batch of jobs): rather than wait
        // here, on the job's time limit, the job comes back later, for whichever worker is free then.
        if (outcome === "busy") await trainLater(deps.pool, tenantId, deps.busyRetryMs);
      } catch (err) {
        deps.logger.error(
          { err, tenantId, attempt: helpers.job.attempts, maxAttempts: helpers.job.max_attempts },
          "NLU training failed",
        );
        throw err;
      }
    },
    // Tenants whose current version has no model and no job (data from before the trigger, a lost
    // job); models no longer needed, left from before storing a model pruned the older ones.
    [TRAINING_SWEEP]: async () => {
      const tenants = await sweepUntrained(deps.pool);
      if (tenants) deps.logger.info({ tenants }, "NLU training asked for tenants without a current model");
      const pruned = await pruneModels(deps.pool);
      if (pruned) deps.logger.info({ pruned }, "NLU models no longer needed deleted");
    },
  };
}
