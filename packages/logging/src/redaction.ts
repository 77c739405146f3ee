/**
 * Log fields that may carry credentials; pino replaces them with "[Redacted]" wherever they sit at
 * the top level or one level down. Request bodies are never logged at all. These are the system's
 * own; each channel's come from its driver (`secretFields`, `secretHeaders`, its secret `settings`),
 * added by the channel registry when it loads (addSecretFields).
 */
const SECRET_HEADERS = new Set(["authorization", "cookie", "set-cookie", "x-csrf-token", "webhook-signature"]);
const SECRET_FIELDS = new Set([
  "secrets",
  "botToken",
  "accessToken",
  "signingSecret",
  "password",
  "apiKey",
  "token",
  "csrfToken",
  "clientSecret",
  "stateSecret",
  // The settings that hold credentials, should a configuration object be logged.
  "SECRETS_KEYS",
  "ADMIN_TOKEN",
  "METRICS_TOKEN",
  "OPENAI_API_KEY",
  "DATABASE_URL",
]);

/**
 * More field and header names to redact in every logger created from now on (a process adds its
 * channels' before it creates its loggers: the channel registry does so as it loads).
 */
export function addSecretFields(fields: readonly string[], headers: readonly string[] = []): void {
  for (const field of fields) SECRET_FIELDS.add(field);
  for (const header of headers) SECRET_HEADERS.add(header.toLowerCase());
}

// pino's paths: a plain identifier after a dot, anything else quoted in brackets.
const member = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`);

/** pino's redact paths for the names known now. */
export function redactPaths(): string[] {
  return [
    ...[...SECRET_HEADERS].flatMap((h) => [`req.headers${member(h)}`, `headers${member(h)}`, `*.headers${member(h)}`]),
    ...[...SECRET_FIELDS].flatMap((f) => [f, `*.${f}`]),
  ];
}

/**
 * A query string's values may be credentials (Meta's `hub.verify_token`, or a key a client put in
 * the URL): the access log keeps each parameter's name and hides its value.
 */
export function redactQuery(url: string): string {
  const at = url.indexOf("?");
  if (at < 0) return url;
  const names = url
    .slice(at + 1)
    .split("&")
    .filter(Boolean)
    .map((pair) => `${pair.split("=", 1)[0]}=[Redacted]`);
  return `${url.slice(0, at)}?${names.join("&")}`;
}

/** A logged HTTP request (Fastify's, under `req`), with the URL's query values hidden. */
export const serializers = {
  req(request: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
    return {
      method: request.method,
      url: redactQuery(request.url),
      host: request.host,
      remoteAddress: request.ip,
      remotePort: request.socket?.remotePort,
    };
  },
};
