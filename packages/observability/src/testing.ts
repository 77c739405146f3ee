import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** One sample of a scrape: its labels and value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses Prometheus' text exposition format (what GET /metrics answers) into samples. */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = LINE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(LABEL)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample with that name whose labels include `labels` (0 when there is none). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** A span as an OTLP/JSON export carries it. */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

/**
 * A local OTLP/HTTP receiver (POST /v1/traces, JSON as @opentelemetry/exporter-trace-otlp-http
 * sends it): keeps the spans, or, with `keep: false`, only counts bytes and spans (the benchmark).
 */
export async function startOtlpSink(options: { keep?: boolean } = {}) {
  const keep = options.keep ?? true;
  const spans: ExportedSpan[] = [];
  const totals = { requests: 0, bytes: 0, spans: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      totals.requests++;
      totals.bytes += body.length;
      if (req.method !== "POST" || req.url !== "/v1/traces" || !String(req.headers["content-type"]).includes("json")) {
        res.writeHead(400).end();
        return;
      }
      const parsed = JSON.parse(body.toString("utf8")) as {
        resourceSpans: {
          scopeSpans: { spans: (Omit<ExportedSpan, "attributes"> & { attributes?: OtlpAttribute[] })[] }[];
        }[];
      };
      for (const rs of parsed.resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const span of ss.spans) {
            totals.spans++;
            if (keep)
              spans.push({
                ...span,
                attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]])),
              });
          }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    /** For OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds /v1/traces). */
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    totals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

/** Keeps finished spans in memory: startTracing({ exporter }) in tests. */
export { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
