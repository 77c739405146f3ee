// PostgreSQL's jsonb (and text) cannot hold U+0000 or an unpaired UTF-16 surrogate, both of which
// JSON.stringify writes as \u escapes and platforms can deliver. One such character would make every
// write of the value fail, so strings are cleaned once before a value is stored.
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/i;

const storable = (_key: string, value: unknown) =>
  typeof value === "string" ? value.replaceAll("\0", "").toWellFormed() : value;

/**
 * JSON text PostgreSQL can store as json or jsonb: NUL characters dropped, lone surrogates
 * replaced by U+FFFD. Values without them (nearly all) are serialized once, with no replacer.
 */
export function storableJson(value: unknown): string {
  const text = JSON.stringify(value);
  return UNSTORABLE_ESCAPE.test(text) ? JSON.stringify(value, storable) : text;
}
