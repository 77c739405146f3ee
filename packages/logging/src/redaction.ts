/**
 * Log fields that may carry credentials; pino replaces them with "[Redacted]" wherever they sit at
 * the top level or one level down. Request bodies are never logged at all.
 */
const SECRET_HEADERS = [
  "authorization",
  "cookie",
  '"set-cookie"',
  '"x-csrf-token"',
  '"x-telegram-bot-api-secret-token"',
  '"x-hub-signature-256"',
  '"x-slack-signature"',
  '"webhook-signature"',
];
const SECRET_FIELDS = [
  "secrets",
  "botToken",
  "accessToken",
  "pageAccessToken",
  "appSecret",
  "signingSecret",
  "secretToken",
  "verifyToken",
  "password",
  "apiKey",
  "token",
  "csrfToken",
  "clientSecret",
  "stateSecret",
  "identitySecret",
  // The settings that hold credentials, should a configuration object be logged.
  "SECRETS_KEYS",
  "ADMIN_TOKEN",
  "METRICS_TOKEN",
  "OPENAI_API_KEY",
  "SLACK_CLIENT_SECRET",
  "SLACK_SIGNING_SECRET",
  "SLACK_STATE_SECRET",
  "DATABASE_URL",
];

const bracket = (name: string) => (name.startsWith('"') ? `[${name}]` : `.${name}`);

export const redactPaths = [
  ...SECRET_HEADERS.flatMap((h) => [`req.headers${bracket(h)}`, `headers${bracket(h)}`, `*.headers${bracket(h)}`]),
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
];

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
