/**
 * Log fields that may carry credentials; pino replaces them with "[Redacted]" wherever they sit at
 * the top level or one level down. Request bodies are never logged at all.
 */
const SECRET_HEADERS = [
  "authorization",
  "cookie",
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
];

const bracket = (name: string) => (name.startsWith('"') ? `[${name}]` : `.${name}`);

export const redactPaths = [
  ...SECRET_HEADERS.flatMap((h) => [`req.headers${bracket(h)}`, `headers${bracket(h)}`, `*.headers${bracket(h)}`]),
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
];
