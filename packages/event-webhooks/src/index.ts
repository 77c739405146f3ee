export {
  emitEvent,
  emitEvents,
  withEvents,
  eventParameters,
  DELIVER_EVENT,
  EVENT_TYPES,
  type EventType,
  type NewEvent,
} from "./emit.ts";
export { createDeliverTask, RETRY_SCHEDULE_MS, type DeliveryOptions } from "./deliver.ts";
export { replayDelivery, replayFailed } from "./replay.ts";
export {
  checkWebhookHealth,
  CHECK_WEBHOOK_HEALTH,
  WEBHOOK_HEALTH_CRONTAB,
  HEALTH_DEFAULTS,
  HEALTH_WINDOW_MINUTES,
  type HealthSettings,
} from "./health.ts";
