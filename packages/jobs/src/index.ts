export * from "./enqueue.ts";
export * from "./worker.ts";
export { collectEmptyQueues, keepQueuesCollected, QUEUE_GATE_SHARED } from "./queues.ts";
export { keepWorkersAlive, type LivenessOptions } from "./liveness.ts";
export { JobTimeoutError, limitRunTime, limitTaskList, type TimeLimitOptions } from "./time-limit.ts";
export { rankTask, rankTaskList } from "./rank.ts";
export { MAX_OUTAGES_A_RUN, resumeAfterOutage, resumeTaskListAfterOutage } from "./outage.ts";
