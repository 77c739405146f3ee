import { HttpError } from "./errors.ts";
import { inboundEventValidator } from "./inbound-schema.ts";
import type { InboundEvent } from "./message.ts";

/**
 * What PostgreSQL can store, checked before any work: its `text` and `jsonb` refuse the NUL
 * character, and a lone UTF-16 surrogate has no UTF-8 form at all, so either would fail deep
 * inside a write as a 500. Depth is bounded too: nothing real is nested deeper, and every
 * recursive step after this (validation, normalizers, serializers) would otherwise pay for it.
 */
export const MAX_JSON_DEPTH = 64;

export type TextProblem = { path: string; problem: "nul" | "lone_surrogate" | "too_deep" };

const problemOf = (text: string): TextProblem["problem"] | undefined =>
  text.includes("\u0000") ? "nul" : text.isWellFormed() ? undefined : "lone_surrogate";

/** The first place in a parsed JSON value (keys included) that PostgreSQL could not store, with its JSON Pointer. */
export function findUnstorableText(value: unknown, maxDepth = MAX_JSON_DEPTH): TextProblem | undefined {
  const visit = (node: unknown, path: string, depth: number): TextProblem | undefined => {
    if (typeof node === "string") {
      const problem = problemOf(node);
      return problem && { path: path || "/", problem };
    }
    if (typeof node !== "object" || node === null) return undefined;
    if (depth > maxDepth) return { path: path || "/", problem: "too_deep" };
    for (const [key, child] of Object.entries(node)) {
      const at = `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      const problem = problemOf(key);
      if (problem) return { path: at, problem };
      const found = visit(child, at, depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return visit(value, "", 1);
}

/** Whether objects and arrays nest deeper than `max` (it looks no further than one level past it). */
function deeperThan(value: unknown, max: number, depth = 1): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (depth > max) return true;
  return Object.values(value).some((child) => deeperThan(child, max, depth + 1));
}

const DESCRIBE: Record<TextProblem["problem"], string> = {
  nul: "holds a NUL character (\\u0000)",
  lone_surrogate: "holds a lone UTF-16 surrogate (not valid Unicode)",
  too_deep: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
};

/** Refuses, with a 400 naming the place, input that PostgreSQL could not store. */
export function assertStorable(value: unknown, where: string): void {
  const found = findUnstorableText(value);
  if (found)
    throw new HttpError(400, "invalid_text", `${where} ${found.path} ${DESCRIBE[found.problem]}`, {
      location: where,
      path: found.path,
      problem: found.problem,
    });
}

/**
 * Refuses a platform's payload nested past the limit (no platform's is), before a normalizer or
 * serializer recurses into it. Its text needs no check here: the store cleans what PostgreSQL
 * cannot hold (`storableJson` in @cb/db), so a customer's odd character never loses their message.
 */
export function assertNotTooDeep(value: unknown, where: string): void {
  if (deeperThan(value, MAX_JSON_DEPTH))
    throw new HttpError(400, "invalid_text", `${where} ${DESCRIBE.too_deep}`, { location: where, problem: "too_deep" });
}

/**
 * Runs a channel's normalizer over a verified payload. A payload the platform signed but shaped
 * unlike its documentation (a wrong type, a missing object) is refused with a 400 and logged for
 * operators: a 5xx would have the platform send it again for hours.
 */
export async function normalizeVerified<T extends InboundEvent[] | undefined>(
  log: { warn(details: object, message: string): void },
  channel: string,
  normalize: () => T | Promise<T>,
): Promise<T> {
  const refused = () =>
    new HttpError(400, "unprocessable_payload", `the payload is not a ${channel} event this server understands`);
  let events: T;
  try {
    events = await normalize();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    log.warn({ err, channel }, "a verified payload could not be normalized");
    throw refused();
  }
  const invalid = events?.find((event) => !inboundEventValidator.Check(event));
  if (invalid) {
    const [error] = inboundEventValidator.Errors(invalid);
    log.warn({ channel, path: error?.instancePath, problem: error?.message }, "a verified payload normalized badly");
    throw refused();
  }
  return events;
}
