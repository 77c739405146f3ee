// `npm run bench:notify -- --scenario scheduled [--messages 5000 --future 100000 --bots 20 --window 60 --send no]`:
// `messages` reminders due within `window` seconds are sent by a worker to a local Telegram Bot API
// stand-in, while `future` scheduled messages due in a month wait in "Notification" (as the API
// leaves them: not yet handed over to graphile-worker). Checks none is lost or sent twice and no bot
// goes past Telegram's 30 messages a second; measures how late each was sent against its due time,
// the time to schedule one, the hand-over of the due ones into graphile-worker (the minutely job's
// work), and the time to fetch due jobs and to find what to hand over with the future ones waiting.
// With `--send no`, everything up to the hand-over, nothing sent. One JSON line, then a summary.
import { postgresSendLimits } from "@cb/core";
import { driver as telegramDriver } from "@cb/channel-telegram";
import { createAccountDirectory, handOverDue, HAND_OVER_CRONTAB, scheduleNotification } from "@cb/conversation";
import { createDb, createPool, transaction, type Pool } from "@cb/db";
import { startFakeTelegram } from "@cb/fake-telegram";
import { startWorker } from "@cb/jobs";
import { createNotificationTasks } from "@cb/notifications";
import { createSealer, generateKey, parseKeyRing } from "@cb/secrets";
import { benchDatabase } from "./database.ts";

export interface ScheduledOptions {
  messages: number;
  future: number;
  bots: number;
  windowSeconds: number;
  /** false: schedule and hand over only, send nothing (the full sizes on a slow machine). */
  send: boolean;
}

// graphile-worker's fetch of due jobs outside named queues (served by its jobs_no_queue_index).
const FETCH_DUE = `SELECT id FROM graphile_worker._private_jobs WHERE is_available AND job_queue_id IS NULL AND run_at <= now()
  ORDER BY priority, run_at LIMIT 50`;
// The hand-over's search for what is due within two minutes (the partial index on dueAt), as handOverDue makes it.
const FIND_DUE = `SELECT id FROM "Notification" WHERE status = 'scheduled' AND "enqueuedAt" IS NULL
  AND "dueAt" <= now() + interval '2 minutes' ORDER BY "dueAt" LIMIT 5000`;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
const round = (n: number) => Number(n.toFixed(2));

/** Future reminders in bulk, the rows scheduleNotification writes for them (a month ahead: no job yet), a chunk at a time. */
async function fillFuture(pool: Pool, tenantId: string, contactIds: string[], count: number): Promise<void> {
  const CHUNK = 20_000;
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    await pool.query(
      `INSERT INTO "Notification" (id, "tenantId", kind, status, "dueAt", "jobKey", "contactId", content, "updatedAt")
       SELECT id, $1::uuid, 'reminder', 'scheduled', due, 'scheduled:' || id, ($2::uuid[])[1 + g % array_length($2::uuid[], 1)],
         '{"message":{"text":"later"},"channelOrder":["telegram"]}'::jsonb, now()
       FROM (SELECT gen_random_uuid() AS id, g, now() + interval '30 days' + g * interval '1 second' AS due
             FROM generate_series(1, $3::int) g) s`,
      [tenantId, contactIds, n],
    );
  }
}

/** The database's own time for a query (EXPLAIN ANALYZE: no client, no network), in ms. */
async function serverMs(pool: Pool, query: string): Promise<number> {
  const {
    rows: [plan],
  } = await pool.query<{ "QUERY PLAN": [{ "Execution Time": number }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${query}`);
  return plan!["QUERY PLAN"][0]["Execution Time"];
}

export async function runScheduled(options: ScheduledOptions): Promise<void> {
  const { messages, future, windowSeconds } = options;
  const tokens = Array.from({ length: options.bots }, (_, i) => `${7770 + i}:bench-token`);
  const database = await benchDatabase();
  const pool = createPool(database.url, { max: 20 });
  const db = createDb(pool);
  const sealer = createSealer(parseKeyRing(generateKey("bench")));
  const telegram = await startFakeTelegram();
  for (const token of tokens) telegram.addBot(token);
  const tenant = await db.tenant.create({ data: { name: "Bench" } });
  const accountIds: string[] = [];
  for (const [i, botToken] of tokens.entries())
    accountIds.push(
      (
        await db.channelAccount.create({
          data: {
            tenantId: tenant.id,
            channel: "telegram",
            name: `bot ${i}`,
            secrets: sealer.sealJson({ botToken, secretToken: "s" }),
          },
        })
      ).id,
    );
  // One contact per message, spread over the bots.
  const { rows: contacts } = await pool.query<{ id: string }>(
    `WITH c AS (
       INSERT INTO "Contact" (id, "tenantId", "customerId") SELECT gen_random_uuid(), $1::uuid, 'c' || g FROM generate_series(0, $2::int - 1) g
       RETURNING id, "customerId"
     ), i AS (
       INSERT INTO "ContactIdentity" (id, "tenantId", "contactId", "channelAccountId", "externalId")
       SELECT gen_random_uuid(), $1::uuid, c.id, ($3::uuid[])[1 + substr(c."customerId", 2)::int % array_length($3::uuid[], 1)], substr(c."customerId", 2)
       FROM c RETURNING "contactId"
     )
     SELECT c.id FROM c JOIN i ON i."contactId" = c.id ORDER BY substr(c."customerId", 2)::int`,
    [tenant.id, messages, accountIds],
  );
  const contactIds = contacts.map((c) => c.id);

  const fillStarted = performance.now();
  await fillFuture(pool, tenant.id, contactIds, future);
  await pool.query(`ANALYZE "Notification"`);
  await pool.query("ANALYZE graphile_worker._private_jobs");
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  // With the future ones waiting and nothing due: what every worker's poll costs, and what the
  // minutely hand-over's search costs.
  const fetchServerMs = await serverMs(pool, FETCH_DUE);
  const findDueServerMs = await serverMs(pool, FIND_DUE);

  // The due messages, through the API's own path (a row; an hour ahead, no job yet), one
  // transaction each, first due an hour from now; once all are in, an hour passes (their times
  // move): they are due from 5 s on, spread over the window, so that enqueueing on a slow machine
  // makes none late. Then the hand-over moves those due within two minutes into graphile-worker
  // (timed; the worker's crontab does the same each minute for any due later).
  const HOUR = 3600_000;
  const base = Date.now() + HOUR;
  const dueAt = new Map<string, number>();
  const enqueueMs: number[] = [];
  const queue = Array.from({ length: messages }, (_, i) => i);
  const enqueueStarted = performance.now();
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const due = base + Math.floor((i * windowSeconds * 1000) / messages);
        const t0 = performance.now();
        await transaction(pool, (sql) =>
          scheduleNotification(sql, {
            tenantId: tenant.id,
            kind: "reminder",
            dueAt: new Date(due),
            contactId: contactIds[i]!,
            content: { message: { text: `Reminder ${i}` }, channelOrder: ["telegram"] },
            idempotencyKey: `bench-${i}`,
          }),
        );
        enqueueMs.push(performance.now() - t0);
        dueAt.set(`Reminder ${i}`, due);
      }
    }),
  );
  const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;
  enqueueMs.sort((a, b) => a - b);
  const shift = base - (Date.now() + 5_000);
  await pool.query(
    `UPDATE "Notification" SET "dueAt" = "dueAt" - $1 * interval '1 millisecond' WHERE "idempotencyKey" LIKE 'bench-%'`,
    [shift],
  );
  for (const [text, due] of dueAt) dueAt.set(text, due - shift);
  const handOverStarted = performance.now();
  const handedOver = await handOverDue(pool);
  const handOverSeconds = (performance.now() - handOverStarted) / 1000;
  if (!options.send) {
    // The scheduling side alone (sending 100,000 takes far longer than the minute they are due in
    // on a loaded machine): the worker's fetch with them all due and the future ones waiting.
    await pool.query("ANALYZE graphile_worker._private_jobs");
    const figures = {
      scenario: "scheduled",
      send: false,
      messages,
      futureWaiting: future,
      fillSeconds: round(fillSeconds),
      enqueuePerSecond: Math.round(messages / enqueueSeconds),
      enqueueP50Ms: round(pct(enqueueMs, 0.5)),
      enqueueP99Ms: round(pct(enqueueMs, 0.99)),
      handedOver,
      handOverSeconds: round(handOverSeconds),
      findDueServerMs: round(findDueServerMs),
      fetchServerMs: round(fetchServerMs),
      fetchWithDueServerMs: round(await serverMs(pool, FETCH_DUE)),
    };
    await telegram.close();
    await db.$disconnect();
    await pool.end();
    await database.drop();
    console.log(JSON.stringify(figures));
    console.log(
      `scheduled (not sent): ${messages} due within ${windowSeconds} s handed over in ${figures.handOverSeconds} s with ${future} future ones waiting; enqueue p50 ${figures.enqueueP50Ms} ms, p99 ${figures.enqueueP99Ms} ms; with only future ones: due-job fetch ${figures.fetchServerMs} ms, hand-over search ${figures.findDueServerMs} ms; with the due ones handed over: due-job fetch ${figures.fetchWithDueServerMs} ms (in the database)`,
    );
    return;
  }

  const accounts = createAccountDirectory({
    db,
    sealer,
    drivers: [telegramDriver],
    env: { TELEGRAM_API_ROOT: telegram.url },
    limits: postgresSendLimits(pool),
  });
  // This process's CPU from the worker's start until all are sent: the worker's cost of a message.
  const cpuBefore = process.cpuUsage();
  const runner = await startWorker({
    connectionString: database.url,
    concurrency: 100,
    taskList: createNotificationTasks({ db, pool, getSender: (id) => accounts.sender(id) }),
    crontab: HAND_OVER_CRONTAB,
  });
  // Finding due jobs with the future ones in the table: graphile-worker's fetch of queue-less jobs
  // (what its jobs_no_queue_index serves), timed alone every half second while the worker runs.
  const fetchMs: number[] = [];
  const sampleFetch = setInterval(async () => {
    const t0 = performance.now();
    await pool.query(FETCH_DUE).catch(() => {});
    fetchMs.push(performance.now() - t0);
  }, 500);

  const sentMessages = () => telegram.calls.filter((c) => c.method === "sendMessage");
  const deadline = base + windowSeconds * 1000 + 600_000;
  while (sentMessages().length < messages && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sampleFetch);
  await new Promise((r) => setTimeout(r, 2_000)); // anything sent twice shows up
  await runner.stop();

  const sent = sentMessages().filter((c) => String(c.params.text).startsWith("Reminder "));
  const texts = sent.map((c) => String(c.params.text));
  const distinct = new Set(texts);
  const late = sent.map((c) => c.at - dueAt.get(String(c.params.text))!).sort((a, b) => a - b);
  // The most any bot sent within one second (Telegram: 30).
  let perBotPerSecond = 0;
  for (const token of tokens) {
    const at = sent.filter((c) => c.token === token).map((c) => c.at);
    for (let i = 0, j = 0; i < at.length; i++) {
      while (at[i]! - at[j]! >= 1000) j++;
      perBotPerSecond = Math.max(perBotPerSecond, i - j + 1);
    }
  }
  const { rows: statuses } = await pool.query<{ status: string; n: string }>(
    `SELECT status, count(*) AS n FROM "Notification" WHERE "idempotencyKey" LIKE 'bench-%' GROUP BY status`,
  );
  fetchMs.sort((a, b) => a - b);
  // The rate achieved: messages over the time from the first due to the last sent.
  const lastSentAt = sent.reduce((m, c) => Math.max(m, c.at), 0);
  const firstDueAt = [...dueAt.values()].reduce((m, d) => Math.min(m, d), Number.POSITIVE_INFINITY);

  await telegram.close();
  await db.$disconnect();
  await pool.end();
  await database.drop();

  const figures = {
    scenario: "scheduled",
    messages,
    futureJobs: future,
    bots: tokens.length,
    windowSeconds,
    sent: distinct.size,
    lost: messages - distinct.size,
    duplicated: texts.length - distinct.size,
    statuses: Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)])),
    maxPerBotPerSecond: perBotPerSecond,
    lateP50Ms: Math.round(pct(late, 0.5)),
    lateP99Ms: Math.round(pct(late, 0.99)),
    lateMaxMs: Math.round(late.at(-1) ?? 0),
    sendPerSecond: Math.round(sent.length / ((lastSentAt - firstDueAt) / 1000)),
    cpuMsPerMessage: round((cpu.user + cpu.system) / 1000 / Math.max(1, sent.length)),
    fillSeconds: round(fillSeconds),
    enqueuePerSecond: Math.round(messages / enqueueSeconds),
    enqueueP50Ms: round(pct(enqueueMs, 0.5)),
    enqueueP99Ms: round(pct(enqueueMs, 0.99)),
    handedOver,
    handOverSeconds: round(handOverSeconds),
    findDueServerMs: round(findDueServerMs),
    fetchServerMs: round(fetchServerMs),
    fetchP50Ms: round(pct(fetchMs, 0.5)),
    fetchP99Ms: round(pct(fetchMs, 0.99)),
  };
  console.log(JSON.stringify(figures));
  console.log(
    `scheduled: ${figures.sent} of ${messages} reminders due within ${windowSeconds} s sent (${figures.lost} lost, ${figures.duplicated} twice) over ${tokens.length} bots, at most ${perBotPerSecond}/s a bot, with ${future} future ones waiting; ${figures.sendPerSecond}/s from the first due to the last sent, ${figures.cpuMsPerMessage} ms of this process's CPU (the worker's) a message; sent after their due time p50 ${figures.lateP50Ms} ms, p99 ${figures.lateP99Ms} ms; enqueue p50 ${figures.enqueueP50Ms} ms, p99 ${figures.enqueueP99Ms} ms; hand-over of ${handedOver} in ${figures.handOverSeconds} s; with only future ones: due-job fetch ${figures.fetchServerMs} ms and hand-over search ${figures.findDueServerMs} ms in the database; due-job fetch while sending p50 ${figures.fetchP50Ms} ms, p99 ${figures.fetchP99Ms} ms from the client`,
  );
}
