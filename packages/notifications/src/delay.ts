import { DateTime, Duration } from "luxon";
import { quietUntil, type QuietSettings } from "./quiet-hours.ts";
import { firstValue, type EventDocument } from "./rules.ts";

/** A rule's delay: an ISO 8601 duration after the event, or a time in the event plus an offset. */
export type RuleDelay = string | { at: string; offset?: string };

/** An ISO 8601 duration (`PT2H`, `-PT30M`, `P1DT12H`), or null when it is not one. */
export function parseDuration(iso: string): Duration | null {
  const duration = Duration.fromISO(iso);
  return duration.isValid ? duration : null;
}

/**
 * `start` plus a duration in the time zone `zone`: days, weeks, months and years keep the local
 * wall-clock time across a DST change (P1D from 10:00 is 10:00 the next day, 23 or 25 hours later),
 * hours and smaller are exact elapsed time (PT24H is always 24 hours).
 */
export function addDuration(start: Date, duration: Duration, zone: string): Date {
  return DateTime.fromJSDate(start, { zone }).plus(duration).toJSDate();
}

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
