import { AsyncLocalStorage } from "node:async_hooks";
import { context, trace } from "@opentelemetry/api";

/** The ids a piece of work concerns, put on every line logged while it runs. */
export interface LogContext {
  tenantId?: string;
  conversationId?: string;
  messageId?: string;
}

const store = new AsyncLocalStorage<LogContext>();

/** Runs `work` with these ids on every line it logs (added to those of an enclosing context). */
export function withLogContext<T>(fields: LogContext, work: () => T): T {
  return store.run({ ...store.getStore(), ...fields }, work);
}

/**
 * pino's mixin: the ids of the work in progress, and the trace id (`traceId`, `spanId`) of the
 * active span when tracing is on, so a line can be found from a trace and a trace from a line.
 */
export function logContextFields(): Record<string, string> {
  const fields: Record<string, string> = { ...store.getStore() } as Record<string, string>;
  const span = trace.getSpan(context.active())?.spanContext();
  if (span && trace.isSpanContextValid(span)) {
    fields.traceId = span.traceId;
    fields.spanId = span.spanId;
  }
  return fields;
}
