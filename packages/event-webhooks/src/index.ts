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
export { replayDelivery, replayFailedSince } from "./replay.ts";
