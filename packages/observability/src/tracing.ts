import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  type Context,
  type Span,
  type SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";

type Env = Record<string, string | undefined>;

/**
 * Tracing is on only when the standard variables ask for it: an OTLP endpoint
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER
 * (otlp, console); OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true turns it off.
 */
export function tracingRequested(env: Env = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === "true" || env.OTEL_TRACES_EXPORTER === "none") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_TRACES_EXPORTER);
}

/** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, as the specification names them (parentbased_always_on by default). */
export function samplerFromEnv(env: Env = process.env): Sampler {
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? 1);
  const ratioSampler = () => new TraceIdRatioBasedSampler(Number.isFinite(ratio) ? ratio : 1);
  switch (env.OTEL_TRACES_SAMPLER) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratioSampler();
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratioSampler() });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

let enabled = false;

export interface Tracing {
  enabled: boolean;
  /** Exports what is buffered now (tests, the benchmark). */
  flush(): Promise<void>;
  /** Exports what is buffered, then stops (a role's shutdown). */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for this process when the environment asks for it (or when an
 * exporter is given: tests, the benchmark): spans batched to the OTLP/HTTP exporter, which reads
 * its endpoint, headers, timeout and compression from the OTEL_EXPORTER_OTLP_* variables itself;
 * W3C trace context propagation. Off, nothing is installed and every helper here costs a branch.
 */
export function startTracing(options: { serviceName: string; env?: Env; exporter?: SpanExporter }): Tracing {
  const env = options.env ?? process.env;
  if (!options.exporter && !tracingRequested(env))
    return { enabled: false, flush: async () => {}, shutdown: async () => {} };
  const exporter =
    options.exporter ?? (env.OTEL_TRACES_EXPORTER === "console" ? new ConsoleSpanExporter() : new OTLPTraceExporter());
  const provider = new TracerProvider({
    resource: defaultResource()
      .merge(resourceFromAttributes({ "service.name": options.serviceName }))
      // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the role's name.
      .merge(detectResources({ detectors: [envDetector] })),
    sampler: samplerFromEnv(env),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  return {
    enabled: true,
    flush: () => provider.forceFlush(),
    async shutdown() {
      enabled = false;
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

export const tracingEnabled = () => enabled;

const tracer = () => trace.getTracer("chatbot-backend");
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent (a stored traceparent's context); the active context by default. */
  parent?: Context;
}

/**
 * Runs `work` in a new span (active while it runs, so spans and traceparent headers made inside
 * are its children); a thrown error marks it failed. Without tracing, `work` runs as it is.
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  if (!enabled) return work(NO_SPAN);
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(
    name,
    {
      ...(options.kind !== undefined ? { kind: options.kind } : {}),
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

/** Starts a span the caller ends (a request's, ended when its response is sent). */
export function startSpan(name: string, options: SpanOptions = {}): Span | undefined {
  if (!enabled) return undefined;
  return tracer().startSpan(
    name,
    {
      ...(options.kind !== undefined ? { kind: options.kind } : {}),
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    options.parent ?? context.active(),
  );
}

/** Runs `work` with `span` active. */
export const withSpan = <T>(span: Span | undefined, work: () => T): T =>
  span ? context.with(trace.setSpan(context.active(), span), work) : work();

/** The W3C trace context headers (`traceparent`) of the active span; none without tracing or a span. */
export function traceHeaders(): Record<string, string> {
  if (!enabled) return {};
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The active span's `traceparent` (stored with an inbound message, so its turn joins the trace). */
export const currentTraceparent = (): string | undefined => traceHeaders().traceparent;

/** The context a stored `traceparent` names: the parent of the spans of a job run later. */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  if (!enabled || !traceparent) return context.active();
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}
