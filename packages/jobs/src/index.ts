export * from "./enqueue.ts";
export * from "./worker.ts";
export { keepWorkersAlive, type LivenessOptions } from "./liveness.ts";
