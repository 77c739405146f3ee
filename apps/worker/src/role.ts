import {
  type AnswerOptions,
  applyContexts,
  askForMissing,
  CONVERSATION_QUEUE_PREFIX,
  createFulfill,
  createUnderstand,
  HAND_OVER_CRONTAB,
  INBOUND_SWEEP,
  type AccountDirectory,
} from "@cb/conversation";
import type { Db, Pool } from "@cb/db";
import { createEgress, parsePolicy } from "@cb/egress";
import {
  checkWebhookHealth,
  CHECK_WEBHOOK_HEALTH,
  createDeliverTask,
  DELIVER_EVENT,
  WEBHOOK_HEALTH_CRONTAB,
} from "@cb/event-webhooks";
import { createFulfillmentClient } from "@cb/fulfillment";
import { evaluateTenant, NLU_EVALUATE } from "@cb/nlu";
import { createNotificationTasks, SUBJECT_QUEUE_PREFIX } from "@cb/notifications";
import {
  createModelStore,
  createSentenceEncoder,
  createTrainer,
  TRAINING_QUEUE_PREFIX,
  TRAINING_SWEEP_CRONTAB,
} from "@cb/nlu";
import { EventEmitter } from "node:events";
import {
  keepQueuesCollected,
  keepWorkersAlive,
  startWorker,
  stuckAfterMs,
  type JobRunner,
  type WorkerEvents,
} from "@cb/jobs";
import { observeBacklog } from "@cb/observability";
import type { Sealer } from "@cb/secrets";
import { createLogger, type Logger, type LogLevel } from "@cb/logging";
import { createTaskList, createTrainingTasks } from "./tasks.ts";

export interface WorkerResources {
  databaseUrl: string;
  db: Db;
  pool: Pool;
  sealer: Sealer;
  accounts: AccountDirectory;
  /** Where the role logs (the runtime's logger); stdout at LOG_LEVEL by default. */
  logger?: Logger;
  /** How a conversation's failed turns are retried (drain.ts's defaults unless given). */
  answering?: Omit<AnswerOptions, "signal">;
  config: {
    LOG_LEVEL?: LogLevel;
    WORKER_CONCURRENCY: number;
    WORKER_MAX_RUN_MS?: number;
    WORKER_HEARTBEAT_MS?: number;
    WORKER_DEAD_AFTER_MS?: number;
    EGRESS_ALLOW?: string | undefined;
    EGRESS_ALLOW_HTTP?: string | undefined;
    OPENAI_BASE_URL?: string | undefined;
    OPENAI_API_KEY?: string | undefined;
    NLU_MODEL_CACHE_MB?: number;
    NLU_TRAINING_CONCURRENCY?: number;
    /** "on" (the runtime's default): one sentence encoder thread for this process's turns, trainings and reports. Unset: off. */
    NLU_SENTENCE_ENCODER?: "on" | "off";
  };
}

/** The job role: graphile-worker running every task; stop() finishes running jobs first. */
export async function startWorkerRole(
  resources: WorkerResources,
): Promise<{ runner: JobRunner; stop(): Promise<void> }> {
  const logger = resources.logger ?? createLogger({ level: resources.config.LOG_LEVEL });
  const egress = createEgress(parsePolicy(resources.config), {
    onBlocked: (detail) => logger.warn({ detail }, "egress refused: not a public address"),
  });
  const client = createFulfillmentClient(egress);
  // Loaded on the first turn or training that needs it, not at start: a worker whose tenants have no
  // English model never pays its memory.
  const encoder = resources.config.NLU_SENTENCE_ENCODER === "on" ? createSentenceEncoder({ logger }) : undefined;
  const taskList = createTaskList(
    {
      db: resources.db,
      pool: resources.pool,
      accounts: resources.accounts,
      understand: createUnderstand(resources.db, {
        store: createModelStore(resources.db, {
          pool: resources.pool,
          ...(resources.config.NLU_MODEL_CACHE_MB
            ? { maxBytes: resources.config.NLU_MODEL_CACHE_MB * 1024 * 1024 }
            : {}),
        }),
        logger,
        ...(encoder ? { encoder } : {}),
        ...(resources.config.OPENAI_BASE_URL || resources.config.OPENAI_API_KEY
          ? { llm: { baseURL: resources.config.OPENAI_BASE_URL, apiKey: resources.config.OPENAI_API_KEY } }
          : {}),
      }),
      fulfill: createFulfill({ sealer: resources.sealer, client }),
      applyContexts,
      askForMissing,
      // Why the bot answered as it did (the same record the admin API shows with each inbound message).
      onTurn: ({ record, ...ids }) => logger.debug({ ...ids, turn: record }, "turn"),
    },
    {
      [DELIVER_EVENT]: createDeliverTask({ db: resources.db, egress, sealer: resources.sealer }),
      // A tenant's model report (GET /v1/nlu/evaluation asks for it), in a worker thread of its own.
      [NLU_EVALUATE]: async (payload, helpers) => {
        await evaluateTenant(resources.db, (payload as { tenantId: string }).tenantId, {
          signal: helpers.abortSignal,
          pool: resources.pool,
          ...(encoder ? { encoder } : {}),
        });
      },
      [CHECK_WEBHOOK_HEALTH]: async () => {
        for (const c of await checkWebhookHealth(resources.db)) logger.info(c, `webhook ${c.to}`);
      },
      ...createTrainingTasks({
        db: resources.db,
        pool: resources.pool,
        trainer: createTrainer({ concurrency: resources.config.NLU_TRAINING_CONCURRENCY ?? 1 }),
        logger,
        ...(encoder ? { encoder } : {}),
      }),
      ...createNotificationTasks({
        db: resources.db,
        pool: resources.pool,
        getSender: (id) => resources.accounts.sender(id),
        logger,
      }),
    },
    resources.answering,
  );
  const events: WorkerEvents = new EventEmitter();
  const liveness = await keepWorkersAlive({
    connectionString: resources.databaseUrl,
    events,
    logger,
    ...(resources.config.WORKER_HEARTBEAT_MS ? { intervalMs: resources.config.WORKER_HEARTBEAT_MS } : {}),
    ...(resources.config.WORKER_DEAD_AFTER_MS ? { deadAfterMs: resources.config.WORKER_DEAD_AFTER_MS } : {}),
    stuckAfterMs: stuckAfterMs(resources.config.WORKER_MAX_RUN_MS),
  });
  const runner = await startWorker({
    connectionString: resources.databaseUrl,
    taskList,
    concurrency: resources.config.WORKER_CONCURRENCY,
    ...(resources.config.WORKER_MAX_RUN_MS ? { maxRunMs: resources.config.WORKER_MAX_RUN_MS } : {}),
    events,
    crontab: [INBOUND_SWEEP, WEBHOOK_HEALTH_CRONTAB, HAND_OVER_CRONTAB, TRAINING_SWEEP_CRONTAB].join("\n"),
    logger,
  });
  // Job queue depth and age, inbox backlog: read when Prometheus scrapes this process.
  observeBacklog(resources.pool);
  // A queue per conversation and per order: empty ones are collected, or every job fetch slows down.
  const queues = keepQueuesCollected({
    pool: resources.pool,
    prefixes: [CONVERSATION_QUEUE_PREFIX, SUBJECT_QUEUE_PREFIX, TRAINING_QUEUE_PREFIX],
    logger,
  });
  return {
    runner,
    async stop() {
      await runner.stop();
      await queues.stop();
      await liveness.stop();
      client.shutdown();
      await egress.close();
      await encoder?.close();
    },
  };
}
