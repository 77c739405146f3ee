import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { HAND_OVER_SCHEDULED, scheduleNotification } from "@cb/conversation";
import { transaction } from "@cb/db";
import { sleep, startStack, type Stack } from "./support.ts";

// The worker role hands scheduled notifications over to graphile-worker each minute (its crontab;
// here the job is also queued by hand, not to wait for the minute).
let stack: Stack;

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack.close();
});

test("the worker role's crontab has the minutely hand-over, and it runs it: a reminder due within two minutes gets its job", async () => {
  const { t, tenantId } = stack;
  const known = async () =>
    (
      await t.pool.query<{ identifier: string }>(`SELECT identifier FROM graphile_worker._private_known_crontabs`)
    ).rows.map((k) => k.identifier);
  // Registered when the runner's cron starts (just after the runner itself).
  for (let i = 0; i < 100 && !(await known()).includes(HAND_OVER_SCHEDULED); i++) await sleep(50);
  assert.ok((await known()).includes(HAND_OVER_SCHEDULED), JSON.stringify(await known()));
  const contact = await t.db.contact.create({ data: { tenantId, customerId: "hand-over" } });
  // Scheduled ten minutes ago for ninety seconds from now: not handed over then.
  const dueAt = new Date(Date.now() + 90_000);
  const { id } = await transaction(t.pool, (sql) =>
    scheduleNotification(
      sql,
      { tenantId, kind: "reminder", dueAt, contactId: contact.id, content: { message: { text: "soon" } } },
      new Date(Date.now() - 600_000),
    ),
  );
  const keyed = async () =>
    (await t.pool.query(`SELECT 1 FROM graphile_worker._private_jobs WHERE key = $1`, [`scheduled:${id}`])).rowCount;
  assert.equal(await keyed(), 0);
  await t.pool.query(`SELECT graphile_worker.add_job($1)`, [HAND_OVER_SCHEDULED]);
  for (let i = 0; i < 200 && !(await keyed()); i++) await sleep(50);
  assert.equal(await keyed(), 1);
  const row = await t.db.notification.findUniqueOrThrow({ where: { id } });
  assert.ok(row.enqueuedAt);
});
