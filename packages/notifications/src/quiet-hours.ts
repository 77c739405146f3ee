import { DateTime } from "luxon";

export interface QuietSettings {
  quietHours?: { start: string; end: string };
}

/** When quiet hours (in the time zone `timezone`) end, if `now` is inside them. */
export function quietUntil(settings: QuietSettings, timezone: string, now: Date): Date | null {
  if (!settings.quietHours) return null;
  const local = DateTime.fromJSDate(now, { zone: timezone });
  const at = (hhmm: string, day: DateTime) => {
    const [h, m] = hhmm.split(":").map(Number);
    return day.set({ hour: h ?? 0, minute: m ?? 0, second: 0, millisecond: 0 });
  };
  const start = at(settings.quietHours.start, local);
  const end = at(settings.quietHours.end, local);
  if (start <= end) return local >= start && local < end ? end.toJSDate() : null;
  // A window across midnight (22:00–08:00).
  if (local >= start) return end.plus({ days: 1 }).toJSDate();
  return local < end ? end.toJSDate() : null;
}
