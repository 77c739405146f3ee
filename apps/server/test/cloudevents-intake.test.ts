import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { TestDatabase } from "@cb/db/testing";
import { signatureHeaders } from "@cb/fulfillment";
import type { FastifyInstance } from "fastify";
import { startAdminServer, type AdminServer } from "./support.ts";

let server: AdminServer;
let t: TestDatabase;
let app: FastifyInstance;
let tenantId: string;
let eventsKey: string;
let eventsSecret: string;

before(async () => {
  server = await startAdminServer();
  ({ t, app } = server);
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const created = await server.tenant("Acme");
  tenantId = created.tenantId;
  eventsKey = (
    await app.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: as(created.key),
      payload: { name: "orders", scopes: ["events"] },
    })
  ).json().key;
  eventsSecret = (await app.inject({ method: "POST", url: "/v1/events-secret", headers: as(created.key) })).json()
    .secret;
});
after(() => server.close());

const ce = (id: string, source: string, orderId: string) => ({
  specversion: "1.0",
  id,
  source,
  type: "order.shipped",
  subject: orderId,
  time: new Date().toISOString(),
  datacontenttype: "application/json",
  data: { orderId },
});
const send = (payload: string, contentType: string) =>
  app.inject({
    method: "POST",
    url: `/v1/tenants/${tenantId}/events`,
    headers: { "content-type": contentType, authorization: `Bearer ${eventsKey}` },
    payload,
  });
const batch = (events: unknown[]) => send(JSON.stringify(events), "application/cloudevents-batch+json");
const stored = async () =>
  (await t.db.orderEvent.findMany({ orderBy: [{ source: "asc" }, { eventId: "asc" }] })).map(
    (e) => `${e.source} ${e.eventId} ${e.subject}`,
  );

test("a CloudEvents batch: each event checked and stored on its own, answered one result per event", async () => {
  const { source: _, ...noSource } = ce("o-3", "/shop", "A-3");
  const response = await batch([ce("o-1", "/shop", "A-1"), ce("o-1", "/warehouse", "A-2"), noSource]);
  assert.equal(response.statusCode, 202, response.body);
  const body = response.json();
  assert.equal(body.accepted, 2);
  assert.deepEqual(
    body.results.map((r: { status: number; eventId: string; source?: string }) => [r.status, r.eventId, r.source]),
    [
      [202, "o-1", "/shop"],
      [202, "o-1", "/warehouse"],
      [400, "o-3", undefined],
    ],
  );
  assert.equal(body.results[2].error.code, "invalid_event");
  assert.deepEqual(await stored(), ["/shop o-1 A-1", "/warehouse o-1 A-2"], "the same id from two sources: two events");

  const again = (await batch([ce("o-1", "/shop", "A-1"), ce("o-9", "/shop", "A-9")])).json();
  assert.deepEqual(
    again.results.map((r: { duplicate?: boolean }) => r.duplicate ?? false),
    [true, false],
    "duplicates are known by source and id",
  );
  assert.equal(again.accepted, 2);
});

test("duplicates: a single CloudEvent by source + id; signed events in their own id space", async () => {
  const single = (id: string, source: string) =>
    send(JSON.stringify(ce(id, source, "S-1")), "application/cloudevents+json");
  const first = await single("s-1", "/billing");
  assert.equal(first.statusCode, 202, first.body);
  assert.deepEqual(first.json(), { accepted: true, eventId: "s-1", source: "/billing" });
  assert.equal((await single("s-1", "/billing")).json().duplicate, true);
  assert.equal((await single("s-1", "/crm")).json().duplicate, undefined, "another source: another event");

  const raw = JSON.stringify({ type: "order.shipped", subject: "S-1", data: { orderId: "S-1" } });
  const signed = () =>
    app.inject({
      method: "POST",
      url: `/v1/tenants/${tenantId}/events`,
      headers: { "content-type": "application/json", ...signatureHeaders([eventsSecret], "s-1", raw) },
      payload: raw,
    });
  assert.deepEqual((await signed()).json(), { accepted: true, eventId: "s-1" }, "not a duplicate of a CloudEvent");
  assert.equal((await signed()).json().duplicate, true);
  assert.deepEqual(
    (await stored()).filter((s) => s.includes(" s-1 ")),
    ["/billing s-1 S-1", "/crm s-1 S-1", "webhook s-1 S-1"],
  );
});

test("a batch past 100 events is a 413, anything not an array of events a 400; nothing is stored", async () => {
  const before = await t.db.orderEvent.count();
  const tooMany = await batch(Array.from({ length: 101 }, (_, i) => ce(`big-${i}`, "/shop", `B-${i}`)));
  assert.equal(tooMany.statusCode, 413);
  assert.equal(tooMany.json().error.code, "batch_too_large");
  const full = await batch(Array.from({ length: 100 }, (_, i) => ce(`full-${i}`, "/shop", `F-${i}`)));
  assert.equal(full.json().accepted, 100, "100 is allowed");
  const arrayAsOne = await send(JSON.stringify([ce("x-0", "/shop", "X-0")]), "application/cloudevents+json");
  assert.equal(arrayAsOne.statusCode, 400, "a batch needs the batch content type");
  for (const payload of ["{}", "[]", "not json"]) {
    const refused = await send(payload, "application/cloudevents-batch+json");
    assert.equal(refused.statusCode, 400, payload);
  }
  const unauthenticated = await app.inject({
    method: "POST",
    url: `/v1/tenants/${tenantId}/events`,
    headers: { "content-type": "application/cloudevents-batch+json" },
    payload: JSON.stringify([ce("x-1", "/shop", "X-1")]),
  });
  assert.equal(unauthenticated.statusCode, 401);
  assert.equal(await t.db.orderEvent.count(), before + 100);
});
