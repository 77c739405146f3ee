import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createAccountDirectory, createIngestor, type Ingestor } from "@cb/conversation";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../src/index.ts";

const OPERATOR = "operator-token-0123456789";
const sealer = createSealer(parseKeyRing(generateKey("test")));
let t: TestDatabase;
let app: FastifyInstance;
let ingestor: Ingestor;
let doc: Record<string, any>;
let key: string;
let tenantId: string;

const server = (publicBaseUrl?: string) =>
  buildServer({
    db: t.db,
    accounts: createAccountDirectory({ db: t.db, sealer, drivers: [], env: {} }),
    ingestor,
    drivers: [],
    admin: { db: t.db, sealer, channelEnv: {}, operatorToken: OPERATOR, publicBaseUrl },
  });

before(async () => {
  t = await createTestDatabase();
  ingestor = createIngestor({ connectionString: t.url });
  app = await server("https://bot.example.com/chat/");
  doc = (await app.inject("/openapi.json")).json();
  const created = (
    await app.inject({
      method: "POST",
      url: "/v1/tenants",
      headers: { authorization: `Bearer ${OPERATOR}` },
      payload: { name: "Acme" },
    })
  ).json();
  key = created.apiKey.key;
  tenantId = created.tenant.id;
});
after(async () => {
  await app.close();
  await ingestor.close();
  await t.drop();
});

const operations = () =>
  Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
  );
const ERROR_REF = { $ref: "#/components/schemas/Error" };

test("the document is valid OpenAPI 3.1 by an independent validator, with servers from PUBLIC_BASE_URL", async () => {
  assert.equal(doc.openapi, "3.1.0");
  await SwaggerParser.validate(structuredClone(doc) as never);
  assert.deepEqual(doc.servers, [{ url: "https://bot.example.com/chat" }]);
  assert.ok(doc.paths["/v1/intents"], "a server URL with a path leaves the operations' paths whole");
  const plain = await server();
  assert.equal((await plain.inject("/openapi.json")).json().servers, undefined, "no PUBLIC_BASE_URL, no servers");
  await plain.close();
});

test("every operation documents its errors with the one shared error schema", () => {
  assert.deepEqual(Object.keys(doc.components.schemas.Error.properties.error.properties), [
    "code",
    "message",
    "details",
  ]);
  const all = operations();
  assert.ok(all.length > 40);
  for (const { path, method, operation } of all) {
    const where = `${method.toUpperCase()} ${path}`;
    const errors = Object.entries(operation.responses as Record<string, any>).filter(([s]) => s.startsWith("4"));
    for (const [, response] of errors) {
      assert.deepEqual(response.content["application/json"].schema, ERROR_REF, where);
      assert.ok(response.description && response.description !== "Default Response", where);
    }
    const statuses = errors.map(([s]) => s);
    for (const always of ["400", "401"]) assert.ok(statuses.includes(always), `${where} ${always}`);
    if (path.includes("{")) assert.ok(statuses.includes("404"), `${where} 404`);
    if (method === "post" || method === "put" || method === "patch")
      for (const status of ["409", "413", "415"]) assert.ok(statuses.includes(status), `${where} ${status}`);
  }
  assert.ok(!doc.paths["/v1/tenants"].post.responses["403"], "the operator-token route has no key scope to refuse");
  assert.ok(doc.paths["/v1/intents"].get.responses["403"]);
});

test("the order-event intake and the agent zip are documented with their bodies", () => {
  const intake = doc.paths["/v1/tenants/{tenantId}/events"]?.post;
  assert.ok(intake, "the intake is in the same document");
  assert.deepEqual(Object.keys(intake.requestBody.content), [
    "application/json",
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
  ]);
  assert.equal(intake.requestBody.content["application/cloudevents-batch+json"].schema.maxItems, 100);
  for (const status of ["202", "401", "403", "404", "413", "429"]) assert.ok(intake.responses[status], status);
  assert.deepEqual(doc.paths["/v1/agent-import"].post.requestBody.content, {
    "application/zip": { schema: { type: "string", format: "binary" } },
  });
});

test("real responses, errors included, match the document's response schemas", async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(doc, "openapi.json");
  const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
  const check = async (
    method: string,
    url: string,
    path: string,
    status: number,
    options: { payload?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const response = await app.inject({
      method: method as "GET",
      url,
      headers: { authorization: `Bearer ${key}`, ...options.headers },
      ...(options.payload !== undefined ? { payload: options.payload as string } : {}),
    });
    assert.equal(response.statusCode, status, `${method} ${url}: ${response.body}`);
    const validate = ajv.getSchema(
      `openapi.json#/${pointer("paths", path, method.toLowerCase(), "responses", String(status), "content", "application/json", "schema")}`,
    );
    assert.ok(validate, `${method} ${path} documents ${status}`);
    assert.ok(validate(response.json()), `${method} ${url} ${status}: ${JSON.stringify(validate.errors)}`);
    return response.json();
  };

  const intent = await check("POST", "/v1/intents", "/v1/intents", 201, {
    payload: { name: "greet", examples: ["hello"], responses: [{ type: "text", text: "Hi" }] },
  });
  const list = await check("GET", "/v1/intents", "/v1/intents", 200);
  assert.deepEqual(
    list.data.map((i: { id: string }) => i.id),
    [intent.id],
  );
  const invalid = await check("POST", "/v1/intents", "/v1/intents", 400, { payload: { name: "" } });
  assert.equal(invalid.error.code, "validation_failed");
  const missing = await check("GET", `/v1/intents/${crypto.randomUUID()}`, "/v1/intents/{id}", 404);
  assert.equal(missing.error.code, "not_found");
  await check("POST", "/v1/intents", "/v1/intents", 409, { payload: { name: "greet", examples: [] } });
  await check("GET", "/v1/intents", "/v1/intents", 401, { headers: { authorization: "Bearer cbk_nope_nope" } });

  await check("POST", "/v1/contacts", "/v1/contacts", 201, {
    payload: { customerId: "c-1", timezone: "Europe/Berlin" },
  });
  const reminder = await check("POST", "/v1/scheduled-messages", "/v1/scheduled-messages", 202, {
    payload: { contact: { customerId: "c-1" }, after: "PT1H", message: { text: "Hi" }, idempotencyKey: "r-1" },
  });
  await check("GET", "/v1/notifications", "/v1/notifications", 200);
  await check("POST", `/v1/notifications/${reminder.id}/cancel`, "/v1/notifications/{id}/cancel", 200);
  await check("POST", `/v1/notifications/${crypto.randomUUID()}/cancel`, "/v1/notifications/{id}/cancel", 404);
  await t.db.notification.update({ where: { id: reminder.id }, data: { status: "sent" } });
  await check("POST", `/v1/notifications/${reminder.id}/cancel`, "/v1/notifications/{id}/cancel", 409);

  const event = JSON.stringify([
    {
      specversion: "1.0",
      id: "o-1",
      source: "/shop",
      type: "order.shipped",
      subject: "A-1",
      data: { orderId: "A-1" },
    },
    { specversion: "1.0", id: "o-2", type: "order.shipped", data: {} },
  ]);
  const events = `/v1/tenants/${tenantId}/events`;
  const batch = await check("POST", events, "/v1/tenants/{tenantId}/events", 202, {
    payload: event,
    headers: { "content-type": "application/cloudevents-batch+json" },
  });
  assert.deepEqual(
    batch.results.map((r: { status: number }) => r.status),
    [202, 400],
  );
  await check("POST", events, "/v1/tenants/{tenantId}/events", 401, {
    payload: event,
    headers: { "content-type": "application/cloudevents-batch+json", authorization: "" },
  });
});
