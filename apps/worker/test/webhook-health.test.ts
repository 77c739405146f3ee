import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CHECK_WEBHOOK_HEALTH } from "@cb/event-webhooks";
import { addJob } from "@cb/jobs";
import { sleep, startStack, type Stack } from "./support.ts";

// The worker role runs the webhook health check (the crontab queues it each minute; here it is
// queued by hand): a failing endpoint becomes degraded and subscribers hear it.
let stack: Stack;

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack.close();
});

test("the worker runs the health check: a failing endpoint is stored degraded and endpoint.degraded emitted", async () => {
  const { t, tenantId, accountId } = stack;
  const endpoint = await t.db.fulfillmentEndpoint.create({
    data: { tenantId, name: "failing", url: "https://orders.example.com/hook" },
  });
  const conversation = await t.db.conversation.create({
    data: { tenantId, channelAccountId: accountId, externalId: "health-1" },
  });
  const message = await t.db.message.create({
    data: {
      tenantId,
      channelAccountId: accountId,
      conversationId: conversation.id,
      direction: "in",
      dedupeKey: "health-1",
      content: {},
      status: "processed",
    },
  });
  await t.db.fulfillmentCall.createMany({
    data: Array.from({ length: 10 }, () => ({
      tenantId,
      messageId: message.id,
      endpointId: endpoint.id,
      intent: "order.status",
      ok: false,
      latencyMs: 5,
      error: "the endpoint answered HTTP 500",
      errorClass: "http_5xx",
    })),
  });
  await t.db.eventSubscription.create({
    data: { tenantId, url: "https://hooks.example.com/health", eventTypes: ["endpoint.degraded"], secrets: "sealed" },
  });
  await addJob(t.pool, CHECK_WEBHOOK_HEALTH, {});
  const end = Date.now() + 10_000;
  while (!(await t.db.fulfillmentEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })).degradedSince) {
    assert.ok(Date.now() < end, "the check ran");
    await sleep(100);
  }
  const events = await t.db.event.findMany({ where: { tenantId, type: "endpoint.degraded" } });
  assert.deepEqual(
    events.map((e) => (e.data as { endpointId: string }).endpointId),
    [endpoint.id],
  );
});
