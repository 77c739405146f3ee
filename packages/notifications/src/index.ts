export { notificationsIntake, type IntakeOptions } from "./intake.ts";
export { storeEvent, NOTIFY_EVENT, SUBJECT_QUEUE_PREFIX, type IncomingEvent } from "./store.ts";
export { createNotificationTasks } from "./notify.ts";
export type { NotifyDeps, OutgoingMessage } from "./deliver.ts";
export { quietUntil } from "./quiet-hours.ts";
export { DEFAULT_MAX_LATENESS } from "./delay.ts";
export { DEFAULT_CHANNEL_ORDER, type ReminderContent } from "./send-scheduled.ts";
export type { FollowupContent } from "./followup.ts";
export { conditionHolds, renderText, firstValue, type EventDocument } from "./rules.ts";
