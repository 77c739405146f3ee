import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { prismaSql } from "@cb/db";
import type { TestDatabase } from "@cb/db/testing";
import { createEgress, parsePolicy } from "@cb/egress";
import { createDeliverTask, emitEvent } from "@cb/event-webhooks";
import { createFulfillmentClient, type EndpointAuth, type WebhookRequest } from "@cb/fulfillment";
import type { FastifyInstance } from "fastify";
import { Webhook } from "standardwebhooks";
import { startAdminServer, type AdminServer } from "./support.ts";

const egress = createEgress(parsePolicy({ EGRESS_ALLOW: "127.0.0.1", EGRESS_ALLOW_HTTP: "true" }));
let server: AdminServer;
let t: TestDatabase;
let app: FastifyInstance;
let receiver: Server;
let base: string;
let key: string;
let tenantId: string;
const received: { headers: Record<string, string>; body: string }[] = [];

before(async () => {
  server = await startAdminServer();
  ({ t, app } = server);
  ({ key, tenantId } = await server.tenant("Acme"));
  // A receiver that keeps what it got; the tests verify it the way a real backend would.
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
after(async () => {
  await egress.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await server.close();
});

const post = (url: string, payload?: object) =>
  app.inject({
    method: "POST",
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(payload ? { payload } : {}),
  });

/** Which of the given secrets verify what the receiver got last (standardwebhooks, as a receiver would). */
function verifying(secrets: Record<string, string>): string[] {
  const last = received.at(-1)!;
  return Object.entries(secrets)
    .filter(([, secret]) => {
      try {
        new Webhook(secret).verify(last.body, last.headers);
        return true;
      } catch {
        return false;
      }
    })
    .map(([name]) => name);
}

/** Checks a two-step rotation through `send`, which makes the server sign one request to the receiver. */
async function rotation(prefix: string, created: { signingSecret: string }, send: () => Promise<void>) {
  const first = created.signingSecret;
  await send();
  assert.deepEqual(verifying({ first }), ["first"]);

  const started = await post(`${prefix}/rotate-secret`, {});
  assert.equal(started.statusCode, 200, started.body);
  const second = started.json().signingSecret as string;
  assert.match(second, /^whsec_/);
  await send();
  assert.deepEqual(verifying({ first, second }), ["first", "second"], "during the rotation both sign");
  assert.equal(received.at(-1)!.headers["webhook-signature"]!.split(" ").length, 2);

  const again = await post(`${prefix}/rotate-secret`, {});
  assert.equal(again.statusCode, 409, "a second start would drop a secret receivers may still use");
  assert.equal(again.json().error.code, "rotation_in_progress");
  await send();
  assert.deepEqual(verifying({ first, second }), ["first", "second"], "a refused start changes nothing");

  const finished = await post(`${prefix}/rotate-secret/finish`);
  assert.equal(finished.statusCode, 200, finished.body);
  assert.equal(finished.json().removedSecrets, 1);
  assert.equal(finished.body.includes("whsec_"), false, "finishing shows no secret");
  await send();
  assert.deepEqual(verifying({ first, second }), ["second"], "after finishing only the new secret signs");

  const twice = await post(`${prefix}/rotate-secret/finish`, {});
  assert.equal(twice.statusCode, 200, "finishing twice is harmless");
  assert.equal(twice.json().removedSecrets, 0);
  await send();
  assert.deepEqual(verifying({ first, second }), ["second"]);

  // A leaked secret: replaced at once, the old one stops signing now.
  const replaced = await post(`${prefix}/rotate-secret`, { keepPrevious: false });
  const third = replaced.json().signingSecret as string;
  await send();
  assert.deepEqual(verifying({ first, second, third }), ["third"]);

  assert.equal(
    (await post(`${prefix.replace(/[0-9a-f-]{36}$/, crypto.randomUUID())}/rotate-secret/finish`)).statusCode,
    404,
  );
}

test("fulfillment endpoints: a rotation is started, both secrets sign, finishing keeps only the new one", async () => {
  const created = (await post("/v1/fulfillment-endpoints", { name: "orders", url: `${base}/fulfillment` })).json();
  const client = createFulfillmentClient(egress);
  // The worker's way: the endpoint's sealed secrets as stored, called with the real client.
  const send = async () => {
    const row = await t.db.fulfillmentEndpoint.findUniqueOrThrow({ where: { id: created.endpoint.id } });
    const result = await client.call(
      { id: row.id, url: row.url, timeoutMs: row.timeoutMs, auth: server.sealer.openJson<EndpointAuth>(row.secrets!) },
      { responseId: crypto.randomUUID(), session: "projects/p/agent/sessions/s" } as WebhookRequest,
    );
    assert.ok(result.ok, JSON.stringify(result));
  };
  await rotation(`/v1/fulfillment-endpoints/${created.endpoint.id}`, created, send);
});

test("event subscriptions: the same two-step rotation, verified on real deliveries", async () => {
  const created = (
    await post("/v1/event-subscriptions", { url: `${base}/events`, eventTypes: ["message.received"] })
  ).json();
  const deliver = createDeliverTask({ db: t.db, egress, sealer: server.sealer });
  const send = async () => {
    const eventId = await t.db.$transaction((tx) =>
      emitEvent(prismaSql(tx), { tenantId, type: "message.received", data: { text: "hi" } }),
    );
    const delivery = await t.db.eventDelivery.findFirstOrThrow({ where: { eventId: eventId! } });
    await deliver({ deliveryId: delivery.id }, {} as never);
    assert.equal(received.at(-1)!.headers["webhook-id"], eventId);
  };
  await rotation(`/v1/event-subscriptions/${created.subscription.id}`, created, send);
});
