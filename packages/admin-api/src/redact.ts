// Recorded request and response bodies as they may be shown: a JSON body's credential-named
// fields (a Slack event's verification token, a backend echoing an API key) are redacted; the
// headers were redacted when recorded (packages/fulfillment redactedHeaders).
const CREDENTIAL = /^(token|access_token|refresh_token|password|secret|client_secret|api_?key|authorization)$/i;
const REDACTED = "[redacted]";

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, CREDENTIAL.test(k) && typeof v !== "object" ? REDACTED : scrub(v)]),
    );
  return value;
}

/** The body with credential fields redacted when it is JSON; as stored otherwise (cut, or not JSON). */
export function redactBody(body: string | null): string | null {
  if (body === null) return null;
  try {
    return JSON.stringify(scrub(JSON.parse(body)));
  } catch {
    return body;
  }
}
