import { pino, type DestinationStream, type Level, type Logger } from "pino";
import { logContextFields } from "./context.ts";
import { redactPaths, serializers } from "./redaction.ts";

export type { Logger };
export type LogLevel = Level | "silent";

const LEVELS = new Set<string>(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export interface LoggerOptions {
  /** LOG_LEVEL; `info` when unset. */
  level?: LogLevel | undefined;
  /** Where the JSON lines go; stdout by default. */
  destination?: DestinationStream;
}

/**
 * The logger of a process: pino JSON lines, one per event, credentials redacted (see redaction.ts),
 * each carrying the trace, tenant and conversation ids of the work it was logged in (context.ts).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    { level: options.level ?? "info", redact: redactPaths(), serializers, mixin: logContextFields },
    options.destination,
  );
}

let shared: Logger | undefined;

/**
 * What a package logs through when its caller passes no logger: stdout at the environment's
 * LOG_LEVEL, so an error is never dropped for want of wiring. The roles pass their own.
 */
export function defaultLogger(): Logger {
  const level = process.env.LOG_LEVEL;
  shared ??= createLogger({ level: level && LEVELS.has(level) ? (level as LogLevel) : "info" });
  return shared;
}
