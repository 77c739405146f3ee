export * from "./enqueue.ts";
export * from "./worker.ts";
