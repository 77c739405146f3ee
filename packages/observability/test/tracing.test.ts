import { test } from "node:test";
import assert from "node:assert/strict";
import { SpanStatusCode } from "@opentelemetry/api";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace";
import {
  contextFromTraceparent,
  currentTraceparent,
  inSpan,
  samplerFromEnv,
  startTracing,
  traceHeaders,
  tracingEnabled,
  tracingRequested,
} from "../src/index.ts";

test("tracing is requested only by the standard variables, and refused by OTEL_SDK_DISABLED or exporter none", () => {
  assert.equal(tracingRequested({}), false);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "" }), false);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }), true);
  assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" }), true);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: "otlp" }), true);
  assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }), false);
  assert.equal(tracingRequested({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }), false);
});

test("OTEL_TRACES_SAMPLER picks the sampler; parent-based always-on by default", () => {
  assert.ok(samplerFromEnv({}) instanceof ParentBasedSampler);
  assert.match(samplerFromEnv({}).toString(), /root=AlwaysOnSampler/);
  assert.ok(samplerFromEnv({ OTEL_TRACES_SAMPLER: "always_on" }) instanceof AlwaysOnSampler);
  assert.ok(samplerFromEnv({ OTEL_TRACES_SAMPLER: "always_off" }) instanceof AlwaysOffSampler);
  const ratio = samplerFromEnv({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" });
  assert.ok(ratio instanceof TraceIdRatioBasedSampler);
  assert.match(ratio.toString(), /0\.25/);
  assert.match(
    samplerFromEnv({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" }).toString(),
    /root=TraceIdRatioBased\{0\.1\}/,
  );
  assert.match(samplerFromEnv({ OTEL_TRACES_SAMPLER: "parentbased_always_off" }).toString(), /root=AlwaysOffSampler/);
});

test("off, nothing is installed: no headers, no traceparent, work runs as it is", async () => {
  const tracing = startTracing({ serviceName: "off", env: {} });
  assert.equal(tracing.enabled, false);
  assert.equal(tracingEnabled(), false);
  assert.equal(await inSpan("x", {}, async (span) => span.isRecording()), false);
  assert.deepEqual(traceHeaders(), {});
  assert.equal(currentTraceparent(), undefined);
});

test("on: spans nest, traceparent names the active span, a stored traceparent continues its trace, errors mark spans", async () => {
  process.env.OTEL_SERVICE_NAME = "from-the-environment";
  const exporter = new InMemorySpanExporter();
  const tracing = startTracing({ serviceName: "role-name", env: {}, exporter });
  assert.equal(tracing.enabled, true);
  let stored = "";
  await inSpan("webhook", {}, async (span) => {
    stored = currentTraceparent()!;
    assert.equal(stored, `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    assert.deepEqual(traceHeaders(), { traceparent: stored });
  });
  // Later, elsewhere (a job): the stored traceparent is the parent.
  await inSpan("turn", { parent: contextFromTraceparent(stored) }, async () => {
    await inSpan("send", {}, async () => {});
  });
  await assert.rejects(
    inSpan("failing", {}, async () => Promise.reject(new Error("boom"))),
    /boom/,
  );
  await tracing.flush();
  const spans = Object.fromEntries(exporter.getFinishedSpans().map((s) => [s.name, s]));
  const [, traceId, webhookId] = stored.split("-");
  assert.equal(spans.turn!.spanContext().traceId, traceId);
  assert.equal(spans.turn!.parentSpanContext?.spanId, webhookId);
  assert.equal(spans.send!.parentSpanContext?.spanId, spans.turn!.spanContext().spanId);
  assert.equal(spans.failing!.status.code, SpanStatusCode.ERROR);
  assert.equal(spans.failing!.status.message, "boom");
  assert.equal(spans.webhook!.resource.attributes["service.name"], "from-the-environment");
  await tracing.shutdown();
  assert.equal(tracingEnabled(), false);
  assert.deepEqual(await inSpan("after", {}, async () => traceHeaders()), {});
  delete process.env.OTEL_SERVICE_NAME;
});
