import { test } from "node:test";
import assert from "node:assert/strict";
import { quietUntil } from "../src/quiet-hours.ts";

const until = (start: string, end: string, timezone: string, now: string) =>
  quietUntil({ quietHours: { start, end } }, timezone, new Date(now))?.toISOString() ?? null;

test("quiet hours across midnight, in the tenant's time zone: until their end, today's or tomorrow's", () => {
  // Berlin is UTC+1 in November.
  assert.equal(until("22:00", "07:30", "Europe/Berlin", "2026-11-24T22:30:00Z"), "2026-11-25T06:30:00.000Z");
  assert.equal(
    until("22:00", "07:30", "Europe/Berlin", "2026-11-24T21:00:00Z"),
    "2026-11-25T06:30:00.000Z",
    "22:00 sharp",
  );
  assert.equal(until("22:00", "07:30", "Europe/Berlin", "2026-11-24T05:00:00Z"), "2026-11-24T06:30:00.000Z");
  assert.equal(until("22:00", "07:30", "Europe/Berlin", "2026-11-24T06:30:00Z"), null, "07:30 sharp: over");
  assert.equal(until("22:00", "07:30", "Europe/Berlin", "2026-11-24T20:59:00Z"), null, "21:59");
  assert.equal(until("22:00", "07:30", "Europe/Berlin", "2026-11-24T12:00:00Z"), null);
  assert.equal(until("22:00", "07:30", "UTC", "2026-11-24T21:30:00Z"), null, "21:30 in UTC is not quiet");
});

test("quiet hours within a day: from their start up to their end", () => {
  assert.equal(until("12:15", "14:00", "UTC", "2026-11-24T12:15:00Z"), "2026-11-24T14:00:00.000Z");
  assert.equal(until("12:15", "14:00", "UTC", "2026-11-24T13:59:59Z"), "2026-11-24T14:00:00.000Z");
  assert.equal(until("12:15", "14:00", "UTC", "2026-11-24T12:14:59Z"), null);
  assert.equal(until("12:15", "14:00", "UTC", "2026-11-24T14:00:00Z"), null);
  assert.equal(until("9", "17", "America/New_York", "2026-11-24T15:00:00Z"), "2026-11-24T22:00:00.000Z", "hours only");
});

test("no quiet hours, or an empty window (start = end): never quiet", () => {
  assert.equal(quietUntil({}, "Europe/Berlin", new Date("2026-11-24T23:00:00Z")), null);
  assert.equal(until("08:00", "08:00", "UTC", "2026-11-24T08:00:00Z"), null);
  assert.equal(until("08:00", "08:00", "UTC", "2026-11-24T20:00:00Z"), null);
});
