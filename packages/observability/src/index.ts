export * from "./metrics.ts";
export { observeBacklog, observePool, type BacklogOptions } from "./database-gauges.ts";
export { metricsRoute } from "./route.ts";
export {
  contextFromTraceparent,
  currentTraceparent,
  inSpan,
  samplerFromEnv,
  startSpan,
  startTracing,
  traceHeaders,
  tracingEnabled,
  tracingRequested,
  withSpan,
  type SpanOptions,
  type Tracing,
} from "./tracing.ts";
export { SpanKind, SpanStatusCode, type Span } from "@opentelemetry/api";
