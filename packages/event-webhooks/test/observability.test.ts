import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { prismaSql } from "@cb/db";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createEgress, parsePolicy } from "@cb/egress";
import { generateSigningSecret } from "@cb/fulfillment";
import type { JobHelpers } from "@cb/jobs";
import { registry, startTracing, type Tracing } from "@cb/observability";
import { InMemorySpanExporter, parsePrometheus, sampleValue } from "@cb/observability/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { createDeliverTask, emitEvent } from "../src/index.ts";

// Each attempt is counted by outcome, and is a span whose traceparent the receiver gets.
let t: TestDatabase;
let server: Server;
let base: string;
let tenantId: string;
let tracing: Tracing;
const exporter = new InMemorySpanExporter();
const received: { path: string; headers: IncomingHttpHeaders }[] = [];
const sealer = createSealer(parseKeyRing(generateKey("k")));
const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));

before(async () => {
  tracing = startTracing({ serviceName: "deliveries", env: {}, exporter });
  t = await createTestDatabase();
  tenantId = (await t.db.tenant.create({ data: { name: "Acme" } })).id;
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received.push({ path: req.url!, headers: req.headers });
      res.writeHead(Number(req.url!.slice(1))).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await tracing.shutdown();
  await egress.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.drop();
});

/** One attempt of a delivery to an endpoint answering `status`; what the metrics moved by. */
async function attempt(status: number) {
  await t.db.eventSubscription.create({
    data: {
      tenantId,
      url: `${base}/${status}`,
      eventTypes: ["*"],
      secrets: sealer.sealJson({ signingSecrets: [generateSigningSecret()] }),
    },
  });
  const eventId = await t.db.$transaction((tx) =>
    emitEvent(prismaSql(tx), { tenantId, type: "message.received", data: {} }),
  );
  const delivery = await t.db.eventDelivery.findFirstOrThrow({
    where: { eventId: eventId!, subscription: { url: `${base}/${status}` } },
  });
  const before = parsePrometheus(await registry.metrics());
  const deliver = createDeliverTask({ db: t.db, egress, sealer, schedule: [0, 60_000] });
  await deliver({ deliveryId: delivery.id }, {} as JobHelpers);
  const after = parsePrometheus(await registry.metrics());
  return (outcome: string) =>
    sampleValue(after, "cb_event_deliveries_total", { outcome }) -
    sampleValue(before, "cb_event_deliveries_total", { outcome });
}

test("deliveries are counted by outcome: succeeded, failed, gone", async () => {
  for (const [status, outcome] of [
    [204, "succeeded"],
    [500, "failed"],
    [410, "gone"],
  ] as const) {
    const moved = await attempt(status);
    assert.equal(moved(outcome), 1, String(status));
    for (const other of ["succeeded", "failed", "gone"].filter((o) => o !== outcome)) assert.equal(moved(other), 0);
  }
});

test("the receiver gets the attempt's span as its W3C traceparent", async () => {
  await tracing.flush();
  const spans = exporter.getFinishedSpans().filter((s) => s.name === "POST event webhook");
  const headers = received.filter((r) => r.path === "/204").map((r) => r.headers.traceparent);
  assert.equal(headers.length, 1);
  const [, traceId, spanId, flags] = String(headers[0]).split("-");
  assert.equal(flags, "01");
  const span = spans.find((s) => s.spanContext().spanId === spanId);
  assert.ok(span, "the header names the attempt's span");
  assert.equal(span.spanContext().traceId, traceId);
  assert.equal(span.attributes["cb.event_type"], "message.received");
});
