export { createLogger, defaultLogger, type Logger, type LoggerOptions, type LogLevel } from "./logger.ts";
export { addSecretFields, redactPaths, redactQuery, serializers } from "./redaction.ts";
export { logContextFields, withLogContext, type LogContext } from "./context.ts";
