export { notificationsIntake, type IntakeOptions } from "./intake.ts";
export { storeEvent, NOTIFY_EVENT, SUBJECT_QUEUE_PREFIX, type IncomingEvent } from "./store.ts";
export { createNotificationTasks, quietUntil, type NotifyDeps } from "./notify.ts";
export { conditionHolds, renderText, firstValue, type EventDocument } from "./rules.ts";
