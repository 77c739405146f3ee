import { HttpError } from "@cb/core";

/** Refuses a time zone the runtime does not know (an IANA name such as Europe/Berlin): due times are computed in it. */
export function assertTimeZone(zone: string | null | undefined): void {
  if (zone === null || zone === undefined) return;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
  } catch {
    throw new HttpError(400, "invalid_time_zone", `${zone} is not an IANA time zone`, { timezone: zone });
  }
}
