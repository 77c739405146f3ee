import { addDuration, parseDuration } from "@cb/conversation";
import { DateTime, Duration } from "luxon";
import { quietUntil, type QuietSettings } from "./quiet-hours.ts";
import { firstValue, type EventDocument } from "./rules.ts";

/** A rule's delay: an ISO 8601 duration after the event, or a time in the event plus an offset. */
export type RuleDelay = string | { at: string; offset?: string };

/** When a rule's delayed notification for an event is due, or why it cannot be computed. */
export function ruleDueAt(delay: RuleDelay, event: EventDocument, zone: string): Date | { error: string } {
  if (typeof delay === "string") {
    const duration = parseDuration(delay);
    if (!duration) return { error: `the rule's delay ${delay} is not an ISO 8601 duration` };
    return addDuration(new Date(event.occurredAt), duration, zone);
  }
  const raw = firstValue(delay.at, event);
  const at =
    typeof raw === "number"
      ? DateTime.fromMillis(raw, { zone })
      : typeof raw === "string"
        ? DateTime.fromISO(raw, { zone, setZone: false })
        : null;
  if (!at?.isValid) return { error: `no time at ${delay.at}` };
  const offset = parseDuration(delay.offset ?? "PT0S");
  if (!offset) return { error: `the rule's offset ${delay.offset} is not an ISO 8601 duration` };
  return at.plus(offset).toJSDate();
}

/** A due time inside quiet hours moves to their end (in `zone`, the contact's or the tenant's). */
export function outsideQuietHours(settings: QuietSettings, zone: string, due: Date): Date {
  return quietUntil(settings, zone, due) ?? due;
}

/** How late a scheduled message may still be sent (tenant setting `maxLateness`, default PT24H). */
export const DEFAULT_MAX_LATENESS = "PT24H";

export function maxLatenessMs(settings: { maxLateness?: string }): number {
  return (parseDuration(settings.maxLateness ?? DEFAULT_MAX_LATENESS) ?? Duration.fromISO(DEFAULT_MAX_LATENESS)).as(
    "milliseconds",
  );
}
