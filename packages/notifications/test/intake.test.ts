import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { generateSigningSecret, signatureHeaders } from "@cb/fulfillment";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import Fastify, { type FastifyInstance } from "fastify";
import { notificationsIntake } from "../src/intake.ts";
import { SUBJECT_QUEUE_PREFIX } from "../src/store.ts";
import { notifyJobs } from "./jobs.ts";

let t: TestDatabase;
let app: FastifyInstance;
let tenantId: string;
let unsignedTenantId: string;
let secret: string;
const sealer = createSealer(parseKeyRing(generateKey("k")));
// The admin API's key check, as the intake sees it: key → its tenant and scopes.
const apiKeys = new Map<string, { tenantId: string; scopes: string[] }>();

before(async () => {
  t = await createTestDatabase();
  secret = generateSigningSecret();
  tenantId = (await t.db.tenant.create({ data: { name: "Shop", eventsSecret: sealer.seal(secret) } })).id;
  unsignedTenantId = (await t.db.tenant.create({ data: { name: "No secret" } })).id;
  apiKeys.set("cbk_events", { tenantId, scopes: ["events"] });
  apiKeys.set("cbk_admin", { tenantId, scopes: ["read", "admin"] });
  apiKeys.set("cbk_read", { tenantId, scopes: ["read"] });
  apiKeys.set("cbk_other", { tenantId: unsignedTenantId, scopes: ["events"] });
  app = Fastify();
  await app.register(notificationsIntake, {
    db: t.db,
    sealer,
    authenticateApiKey: async (_db, key) => apiKeys.get(key) ?? null,
  });
});
after(async () => {
  await app.close();
  await t.drop();
});

let n = 0;
const nextId = () => `evt-${++n}`;
function post(body: unknown, options: { id?: string; at?: Date; key?: string; tenant?: string; raw?: string } = {}) {
  const raw = options.raw ?? JSON.stringify(body);
  return app.inject({
    method: "POST",
    url: `/v1/tenants/${options.tenant ?? tenantId}/events`,
    headers: {
      "content-type": "application/json",
      ...signatureHeaders([options.key ?? secret], options.id ?? nextId(), raw, options.at ?? new Date()),
    },
    payload: raw,
  });
}
function postCloudEvent(headers: Record<string, string>, payload: unknown, tenant = tenantId) {
  return app.inject({
    method: "POST",
    url: `/v1/tenants/${tenant}/events`,
    headers,
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
}
const stored = (eventId: string, tenant = tenantId, source = "webhook") =>
  t.db.orderEvent.findUnique({ where: { tenantId_source_eventId: { tenantId: tenant, source, eventId } } });
const storedCount = () => t.db.orderEvent.count();

test("a signed event is stored (type, subject, time, sequence, data), its notification queued; 202", async () => {
  const id = nextId();
  const body = {
    type: "order.shipped",
    timestamp: "2026-11-24T14:03:00Z",
    subject: "A-1001",
    data: { orderId: "other", customerId: "c-42", total: 89, sequence: 3 },
  };
  const res = await post(body, { id });
  assert.equal(res.statusCode, 202, res.body);
  assert.deepEqual(res.json(), { accepted: true, eventId: id });
  const row = await stored(id);
  assert.ok(row);
  assert.deepEqual(
    [row.type, row.subject, row.occurredAt.toISOString(), row.sequence, row.data, row.current],
    ["order.shipped", "A-1001", "2026-11-24T14:03:00.000Z", 3n, body.data, true],
  );
  const [job] = await notifyJobs(t.pool, row.id);
  assert.equal(job?.queue_name, `${SUBJECT_QUEUE_PREFIX}${tenantId}:A-1001`);
});

test("the subject defaults to data.orderId, then data.order.id; the time to now; a top-level sequence wins", async () => {
  const a = nextId();
  const startedAt = Date.now();
  assert.equal((await post({ type: "order.paid", data: { orderId: "O-1" } }, { id: a })).statusCode, 202);
  const rowA = await stored(a);
  assert.equal(rowA?.subject, "O-1");
  assert.equal(rowA?.sequence, null);
  assert.ok(rowA!.occurredAt.getTime() >= startedAt && rowA!.occurredAt.getTime() <= Date.now(), "now");

  const b = nextId();
  const body = {
    type: "order.paid",
    time: "2026-11-24T10:00:00Z",
    sequence: "17",
    data: { order: { id: 55 }, sequence: 1 },
  };
  assert.equal((await post(body, { id: b })).statusCode, 202);
  const rowB = await stored(b);
  assert.deepEqual(
    [rowB?.subject, rowB?.sequence, rowB?.occurredAt.toISOString()],
    ["55", 17n, "2026-11-24T10:00:00.000Z"],
  );

  // A null sequence is no sequence.
  const c = nextId();
  assert.equal(
    (await post({ type: "order.paid", data: { orderId: "O-3", sequence: null } }, { id: c })).statusCode,
    202,
  );
  assert.equal((await stored(c))?.sequence, null);
});

test("a repeated id is accepted and ignored; an older event of the order is stored as stale", async () => {
  const id = nextId();
  const body = { type: "order.shipped", data: { orderId: "R-1", sequence: 2 } };
  assert.equal((await post(body, { id })).statusCode, 202);
  const before = await storedCount();
  const again = await post(body, { id });
  assert.equal(again.statusCode, 202);
  assert.deepEqual(again.json(), { accepted: true, eventId: id, duplicate: true });
  assert.equal(await storedCount(), before);

  const older = nextId();
  const stale = await post({ type: "order.created", data: { orderId: "R-1", sequence: 1 } }, { id: older });
  assert.equal(stale.statusCode, 202);
  assert.deepEqual(stale.json(), { accepted: true, eventId: older, stale: true });
  assert.equal((await stored(older))?.current, false);
});

test("an invalid event is a 400 invalid_event naming what is wrong, and nothing is stored", async () => {
  // Each body, and the word its error message must contain.
  const bodies: [unknown, string][] = [
    [{ data: { orderId: "X" } }, "type"],
    [{ type: 5, data: { orderId: "X" } }, "type"],
    [{ type: "", data: { orderId: "X" } }, "type"],
    [{ type: "order.shipped", subject: "X" }, "data"],
    [{ type: "order.shipped", subject: "X", data: "text" }, "data"],
    [{ type: "order.shipped", subject: "X", data: ["X"] }, "data"],
    [{ type: "order.shipped", data: { customerId: "c-1" } }, "subject"],
    [{ type: "order.shipped", subject: null, data: { total: 1 } }, "subject"],
    [{ type: "order.shipped", subject: "", data: { total: 1 } }, "subject"],
    [{ type: "order.shipped", data: { order: { id: null } } }, "subject"],
    [{ type: "order.shipped", timestamp: "yesterday", data: { orderId: "X" } }, "timestamp"],
    [{ type: "order.shipped", data: { orderId: "X", sequence: "three" } }, "sequence"],
    [{ type: "order.shipped", data: { orderId: "X", sequence: 1.5 } }, "sequence"],
    [{ type: "order.shipped", data: { orderId: "X", sequence: "1e3" } }, "sequence"],
    [{ type: "order.shipped", data: { orderId: "X", sequence: "99999999999999999999" } }, "sequence"],
    [{ type: "order.shipped", data: { orderId: "X", sequence: true } }, "sequence"],
    [{ type: "order.shipped", data: { orderId: "X", sequence: [5] } }, "sequence"],
    [null, "object"],
    [42, "object"],
    [["order.shipped"], "object"],
  ];
  const before = await storedCount();
  for (const [body, word] of bodies) {
    const res = await post(body);
    assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
    assert.equal(res.json().code, "invalid_event", JSON.stringify(body));
    assert.ok(res.json().message.includes(word), `${JSON.stringify(body)}: ${res.json().message}`);
  }
  assert.equal(await storedCount(), before);
});

test("a forged, tampered or stale signature, or a tenant without an events secret, is a 401; nothing stored", async () => {
  const body = { type: "order.shipped", data: { orderId: "F-1" } };
  const before = await storedCount();
  const forged = await post(body, { key: generateSigningSecret() });
  assert.equal(forged.statusCode, 401);
  assert.equal(forged.json().code, "invalid_signature");
  const old = await post(body, { at: new Date(Date.now() - 10 * 60_000) });
  assert.equal(old.statusCode, 401, "older than five minutes");
  const id = nextId();
  const raw = JSON.stringify(body);
  const tampered = await app.inject({
    method: "POST",
    url: `/v1/tenants/${tenantId}/events`,
    headers: { "content-type": "application/json", ...signatureHeaders([secret], id, raw, new Date()) },
    payload: raw.replace("F-1", "F-2"),
  });
  assert.equal(tampered.statusCode, 401);
  const noSecret = await post(body, { tenant: unsignedTenantId });
  assert.equal(noSecret.statusCode, 401);
  assert.equal(noSecret.json().code, "invalid_signature");
  assert.match(noSecret.json().message, /no events secret/);
  assert.equal(await storedCount(), before);
});

test("an unknown or malformed tenant id is a 404", async () => {
  const body = { type: "order.shipped", data: { orderId: "U-1" } };
  const uuid = randomUUID();
  for (const tenant of [uuid, "not-a-tenant", `x${tenantId}`, `${tenantId}x`, tenantId.replaceAll("-", "")]) {
    const res = await post(body, { tenant });
    assert.equal(res.statusCode, 404, tenant);
    assert.equal(res.json().code, "not_found");
  }
});

const ce = (id: string, extra: Record<string, unknown> = {}) => ({
  specversion: "1.0",
  id,
  source: "/orders",
  type: "order.delivered",
  subject: "C-1",
  time: "2026-11-24T12:00:00Z",
  datacontenttype: "application/json",
  data: { orderId: "ignored", phone: "+4915111111111" },
  ...extra,
});
const structured = (key: string) => ({
  "content-type": "application/cloudevents+json",
  authorization: `Bearer ${key}`,
});

test("CloudEvents (structured and binary) with an API key of scope events or admin are stored", async () => {
  const res = await postCloudEvent(structured("cbk_events"), ce("ce-1", { sequence: "4" }));
  assert.equal(res.statusCode, 202, res.body);
  assert.deepEqual(res.json(), { accepted: true, eventId: "ce-1", source: "/orders" });
  const row = await stored("ce-1", tenantId, "/orders");
  assert.deepEqual(
    [row?.type, row?.subject, row?.occurredAt.toISOString(), row?.sequence, row?.data],
    ["order.delivered", "C-1", "2026-11-24T12:00:00.000Z", 4n, { orderId: "ignored", phone: "+4915111111111" }],
  );
  assert.equal((await notifyJobs(t.pool, row!.id)).length, 1);

  const binary = await postCloudEvent(
    {
      "content-type": "application/json",
      authorization: "Bearer cbk_admin",
      "ce-specversion": "1.0",
      "ce-id": "ce-bin-1",
      "ce-source": "/orders",
      "ce-type": "order.delivered",
      "ce-time": "2026-11-24T12:30:00Z",
    },
    { orderId: "C-2" },
  );
  assert.equal(binary.statusCode, 202, binary.body);
  const bin = await stored("ce-bin-1", tenantId, "/orders");
  assert.deepEqual(
    [bin?.subject, bin?.occurredAt.toISOString(), bin?.data],
    ["C-2", "2026-11-24T12:30:00.000Z", { orderId: "C-2" }],
  );

  // data carried as a JSON string is parsed.
  const text = await postCloudEvent(
    structured("cbk_events"),
    ce("ce-2", { subject: "C-3", data: '{"orderId":"C-3","n":1}' }),
  );
  assert.equal(text.statusCode, 202, text.body);
  assert.deepEqual((await stored("ce-2", tenantId, "/orders"))?.data, { orderId: "C-3", n: 1 });
});

test("without a valid key for this tenant with the events scope, or with an invalid CloudEvent: 4xx, nothing stored", async () => {
  const before = await storedCount();
  const cases: [Record<string, string>, unknown, number, string][] = [
    [{ "content-type": "application/cloudevents+json" }, ce("k-1"), 401, "unauthenticated"],
    [structured("cbk_unknown"), ce("k-2"), 401, "unauthenticated"],
    [structured("cbk_other"), ce("k-3"), 401, "unauthenticated"],
    [structured("cbk_read"), ce("k-4"), 403, "forbidden"],
    [structured("cbk_events"), { id: "k-5", type: "order.delivered" }, 400, "invalid_event"],
    [
      { "content-type": "application/json", authorization: "Bearer cbk_events" },
      { orderId: "C-9" },
      400,
      "invalid_event",
    ],
    [structured("cbk_events"), ce("k-7", { data: "not json" }), 400, "invalid_event"],
    [{ authorization: "Bearer cbk_events" }, "", 400, "invalid_event"],
    [structured("cbk_events"), ce("k-9", { source: undefined }), 400, "invalid_event"],
    [structured("cbk_events"), ce("k-8", { subject: undefined, data: { total: 1 } }), 400, "invalid_event"],
  ];
  for (const [headers, body, status, code] of cases) {
    const res = await postCloudEvent(headers, body);
    assert.equal(res.statusCode, status, `${JSON.stringify(headers)} ${JSON.stringify(body)}: ${res.body}`);
    assert.equal(res.json().code, code);
  }
  assert.equal(await storedCount(), before);
});
