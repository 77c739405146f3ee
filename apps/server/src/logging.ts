/**
 * Log fields that may carry credentials; pino replaces them with "[Redacted]". Request bodies are
 * never logged at all.
 */
export const redactPaths = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-telegram-bot-api-secret-token"]',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-slack-signature"]',
  'req.headers["webhook-signature"]',
  "*.secrets",
  "*.botToken",
  "*.accessToken",
  "*.appSecret",
  "*.signingSecret",
];
