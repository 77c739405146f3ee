export { createTaskList, createTrainingTasks } from "./tasks.ts";
export { startWorkerRole, type WorkerResources } from "./role.ts";
export { startWorkerHealth, type WorkerHealthOptions } from "./health.ts";
