/**
 * A copy of a request schema in which every object with listed properties refuses properties it
 * does not list (unless it says otherwise): a misspelt field is answered with a 400 naming it,
 * never silently dropped. Free-form maps (records, `config`) list none and stay open.
 */
export function closeObjects<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(closeObjects) as T;
  if (typeof schema !== "object" || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = closeObjects(value);
  if (copy.type === "object" && copy.properties && copy.additionalProperties === undefined && !copy.patternProperties)
    copy.additionalProperties = false;
  return copy as T;
}
