import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { startReceiverForTests } from "./receiver.ts";
import { addTicketIntent, sleep, spawnWorker, startStack, textUpdate, type Stack } from "./support.ts";

let stack: Stack;
let backend: Awaited<ReturnType<typeof startReceiverForTests>>;

before(async () => {
  // Slow enough that the worker is still inside the job when it is told to stop.
  backend = await startReceiverForTests(() => ({
    status: 200,
    body: JSON.stringify({ fulfillmentText: "Your ticket is TCK-7." }),
    delayMs: 1_500,
  }));
  stack = await startStack({ worker: false });
  await addTicketIntent(stack, backend.url);
});
after(async () => {
  await stack.close();
  await backend.close();
});

test("SIGTERM in the middle of a job: the worker finishes it, answers, and exits cleanly", async () => {
  const child = spawnWorker(stack);
  const exited = once(child, "exit");
  assert.equal(await stack.post(textUpdate("open a support ticket please", 701)), 200);
  for (let i = 0; i < 600 && backend.received.length === 0; i++) await sleep(100);
  assert.equal(backend.received.length, 1, "the worker is inside the job, waiting on the backend");

  child.kill("SIGTERM");
  const [code] = await exited;
  assert.equal(code, 0, "a clean exit, after its own shutdown (not cut short by anyone else's exit hook)");
  const sent = stack.telegram.calls.filter((c) => c.method === "sendMessage" && String(c.params.chat_id) === "701");
  assert.deepEqual(
    sent.map((c) => c.params.text),
    ["Your ticket is TCK-7."],
    "answered before exiting",
  );
  const message = await stack.t.db.message.findFirstOrThrow({ where: { direction: "in" } });
  assert.equal(message.status, "processed");
  const locked = await stack.t.db.$queryRawUnsafe<{ n: bigint }[]>(
    "SELECT count(*) AS n FROM graphile_worker.jobs WHERE locked_by IS NOT NULL",
  );
  assert.equal(Number(locked[0]!.n), 0, "no job left locked");
});
