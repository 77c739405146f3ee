import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { prismaSql } from "@cb/db";
import { startReceiverForTests } from "./receiver.ts";
import { addTicketIntent, sleep, spawnWorker, startStack, textUpdate, type Stack } from "./support.ts";

let stack: Stack;
let backend: Awaited<ReturnType<typeof startReceiverForTests>>;
let child: ChildProcess | undefined;

before(async () => {
  // The first call hangs (the worker handling it will be killed); later ones answer at once.
  backend = await startReceiverForTests(() =>
    backend.received.length === 1
      ? { status: 200, body: "{}", delayMs: 60_000 }
      : { status: 200, body: JSON.stringify({ fulfillmentText: "Your ticket is TCK-1." }) },
  );
  stack = await startStack({ worker: false });
  await addTicketIntent(stack, backend.url);
});
after(async () => {
  child?.kill("SIGKILL");
  await stack.close();
  await backend.close();
});

test("a worker killed mid-job: the job is taken over after its heartbeat stops, and answered once", async () => {
  child = spawnWorker(stack, { WORKER_HEARTBEAT_MS: "300", WORKER_DEAD_AFTER_MS: "1000" });
  assert.equal(await stack.post(textUpdate("open a support ticket please", 601)), 200);
  // The child opens its runtime first (migrations check included): allow for a slow, busy machine.
  for (let i = 0; i < 600 && backend.received.length === 0; i++) await sleep(100);
  assert.equal(backend.received.length, 1, "the child worker is inside the job, waiting on the backend");

  child.kill("SIGKILL");
  await new Promise((resolve) => child!.once("exit", resolve));
  // The conversation's job (the tenant's NLU training job may be held by the dead worker too).
  const locked = await stack.t.db.$queryRawUnsafe<{ n: bigint }[]>(
    "SELECT count(*) AS n FROM graphile_worker.jobs WHERE locked_by IS NOT NULL AND queue_name LIKE 'conversation:%'",
  );
  assert.equal(Number(locked[0]!.n), 1, "the dead worker still holds the job's lock");

  await stack.startWorker();
  const sent = await stack.telegram.waitFor(
    (c) => c.method === "sendMessage" && String(c.params.chat_id) === "601",
    60_000,
  );
  assert.equal(sent.params.text, "Your ticket is TCK-1.");
  await sleep(500);
  assert.equal(stack.telegram.calls.filter((c) => c.method === "sendMessage").length, 1, "answered once");
  const message = await stack.t.db.message.findFirstOrThrow({ where: { direction: "in" } });
  assert.equal(message.status, "processed");
});

test("an event delivery cut off by a killed worker is delivered after, with the same event id", async () => {
  const { createServer } = await import("node:http");
  const { emitEvent } = await import("@cb/event-webhooks");
  const { generateSigningSecret } = await import("@cb/fulfillment");
  const hits: { id: string; at: number }[] = [];
  // The first delivery attempt never gets an answer: its worker is killed while waiting.
  const receiver = createServer((req, res) => {
    req.resume();
    hits.push({ id: String(req.headers["webhook-id"]), at: Date.now() });
    if (hits.length > 1) res.end("ok");
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  // Only the child worker runs at first, so it is the one that takes the delivery.
  await stack.worker?.stop();
  stack.worker = undefined;
  await stack.t.db.eventSubscription.create({
    data: {
      tenantId: stack.tenantId,
      url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`,
      eventTypes: ["*"],
      secrets: stack.sealer.sealJson({ signingSecrets: [generateSigningSecret()] }),
    },
  });
  const eventId = await stack.t.db.$transaction((tx) =>
    emitEvent(prismaSql(tx), { tenantId: stack.tenantId, type: "message.received", data: { n: 1 } }),
  );
  const worker = spawnWorker(stack, { WORKER_HEARTBEAT_MS: "300", WORKER_DEAD_AFTER_MS: "1000" });
  try {
    for (let i = 0; i < 600 && hits.length === 0; i++) await sleep(100);
    assert.equal(hits.length, 1, "the child worker is mid-delivery");
    worker.kill("SIGKILL");
    await new Promise((resolve) => worker.once("exit", resolve));
    await stack.startWorker();
    for (let i = 0; i < 600 && hits.length < 2; i++) await sleep(100);
    assert.ok(hits.length >= 2, "delivered after the crash");
    assert.ok(
      hits.every((h) => h.id === eventId),
      "always the same event id, for receivers to deduplicate",
    );
    const delivery = await (async () => {
      for (let i = 0; i < 50; i++) {
        const d = await stack.t.db.eventDelivery.findFirst({ where: { eventId: eventId! } });
        if (d?.status === "succeeded") return d;
        await sleep(100);
      }
      return stack.t.db.eventDelivery.findFirst({ where: { eventId: eventId! } });
    })();
    assert.equal(delivery?.status, "succeeded");
  } finally {
    worker.kill("SIGKILL");
    receiver.closeAllConnections();
    receiver.close();
  }
});
