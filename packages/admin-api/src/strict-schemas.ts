/** Bounds for what a request schema leaves open: no field the API takes needs more. */
const LONGEST_STRING = 10_000;
const MOST_ITEMS = 10_000;

/**
 * A copy of a request schema made strict: every object with listed properties refuses properties
 * it does not list (unless it says otherwise), so a misspelt field is answered with a 400 naming it,
 * never silently dropped; free-form maps (records, `config`) list none and stay open. Strings and
 * arrays without bounds of their own get generous ones.
 */
export function closeObjects<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(closeObjects) as T;
  if (typeof schema !== "object" || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = closeObjects(value);
  if (copy.type === "object" && copy.properties && copy.additionalProperties === undefined && !copy.patternProperties)
    copy.additionalProperties = false;
  if (copy.type === "string" && copy.maxLength === undefined && copy.format === undefined)
    copy.maxLength = LONGEST_STRING;
  if (copy.type === "array" && copy.maxItems === undefined) copy.maxItems = MOST_ITEMS;
  return copy as T;
}
