import { Writable } from "node:stream";
import { createLogger, type Logger, type LogLevel } from "./logger.ts";

/** A logged line, parsed. */
export type LogLine = Record<string, unknown> & { level: number; msg?: string };

/**
 * The process logger (createLogger, so the same redaction) writing into memory instead of stdout:
 * tests read what a role or package logged.
 */
export function captureLogs(level: LogLevel = "info"): { logger: Logger; lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      raw.push(String(chunk));
      lines.push(JSON.parse(String(chunk)) as LogLine);
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines, text: () => raw.join("") };
}

/** pino's numeric levels, to read captured lines by name. */
export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
