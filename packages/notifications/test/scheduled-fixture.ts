// A worker running the notification tasks on a test database, with a clock the tests set, a
// recording sender and helpers to make a scheduled job due (graphile-worker holds a job until its
// run_at by the database's clock; the tests move run_at rather than wait).
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { ChannelSender, ConversationRef, Reply, SendContext } from "@cb/core";
import { createTestDatabase, type TestDatabase } from "@cb/db/testing";
import { startWorker, type JobRunner } from "@cb/jobs";
import { createNotificationTasks } from "../src/notify.ts";
import { HAND_OVER_SCHEDULED, SEND_SCHEDULED } from "@cb/conversation";
import { storeEvent } from "../src/store.ts";

export interface Sent {
  accountId: string;
  to: ConversationRef;
  reply: Reply;
  context: SendContext | undefined;
}

export interface ScheduledJob {
  key: string | null;
  run_at: Date;
  notificationId: string;
}

export interface Fixture {
  t: TestDatabase;
  sent: Sent[];
  /** Channel accounts whose sender cannot be had (getSender throws "sender unavailable"). */
  broken: Set<string>;
  /** The clock the tasks read. */
  clock: { now: Date };
  shop(settings?: {
    timezone?: string;
    notificationSettings?: object;
  }): Promise<{ tenantId: string; telegram: string; whatsapp: string }>;
  rule(tenantId: string, fields: Record<string, unknown>): Promise<{ id: string }>;
  contact(
    tenantId: string,
    customerId: string,
    channelAccountId: string,
    externalId: string,
    timezone?: string,
  ): Promise<{ id: string }>;
  /** Stores an order event (as the intake does) and waits for its notify job. */
  fire(
    tenantId: string,
    type: string,
    subject: string,
    data: Record<string, unknown>,
    occurredAt: Date,
  ): Promise<string>;
  /** The send-scheduled jobs waiting, by run_at. */
  jobs(): Promise<ScheduledJob[]>;
  /** Runs the hand-over job (as the minutely crontab does) by the tests' clock and waits for it. */
  handOver(): Promise<void>;
  /** Hands over what is due by the clock, makes a notification's job due now and waits for the worker. */
  runDue(notificationId: string): Promise<void>;
  settle(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFixture(): Promise<Fixture> {
  const t = await createTestDatabase();
  const sent: Sent[] = [];
  const clock = { now: new Date("2099-01-01T00:00:00Z") };
  const broken = new Set<string>();
  const getSender = async (accountId: string): Promise<ChannelSender> => {
    if (broken.has(accountId)) throw new Error("sender unavailable");
    return sender(accountId);
  };
  const sender = (accountId: string): ChannelSender => ({
    reportsDelivery: false,
    async send(to, reply, context) {
      sent.push({ accountId, to, reply, context });
      return [{ platformMessageId: `pm-${sent.length}`, raw: { ok: true } }];
    },
  });
  const tasks = createNotificationTasks({ db: t.db, pool: t.pool, getSender, now: () => clock.now });
  const start = () => startWorker({ connectionString: t.url, concurrency: 4, pollIntervalMs: 100, taskList: tasks });
  let runner: JobRunner = await start();

  async function settle(): Promise<void> {
    const end = Date.now() + 10_000;
    for (;;) {
      const { rows } = await t.pool.query<{ due: string; error: string | null }>(
        `SELECT count(*) FILTER (WHERE run_at <= now()) AS due, max(last_error) AS error FROM graphile_worker.jobs
         WHERE task_identifier = ANY($1::text[])`,
        [Object.keys(tasks)],
      );
      if (rows[0]!.error) throw new Error(`a job failed: ${rows[0]!.error}`);
      if (rows[0]!.due === "0") return;
      if (Date.now() > end) throw new Error("jobs still due after 10 s");
      await sleep(30);
    }
  }

  async function handOver(): Promise<void> {
    await t.pool.query(`SELECT graphile_worker.add_job($1)`, [HAND_OVER_SCHEDULED]);
    await settle();
  }

  return {
    t,
    sent,
    broken,
    clock,
    async shop(settings = {}) {
      const tenantId = (await t.db.tenant.create({ data: { name: "Shop", ...settings } })).id;
      const account = async (channel: string) =>
        (await t.db.channelAccount.create({ data: { tenantId, channel, name: channel, secrets: "sealed" } })).id;
      await t.db.eventSubscription.create({
        data: {
          tenantId,
          url: "https://hooks.example/n",
          eventTypes: ["notification.sent", "notification.failed", "notification.skipped", "notification.cancelled"],
          secrets: "sealed",
        },
      });
      return { tenantId, telegram: await account("telegram"), whatsapp: await account("whatsapp") };
    },
    rule: (tenantId, fields) =>
      t.db.notificationRule.create({
        data: {
          tenantId,
          name: "nudge",
          eventType: "cart.updated",
          conditions: [],
          template: { text: "Your cart {{subject}} is waiting" },
          contactMatch: { by: "customerId", path: "$.data.customerId" },
          channelOrder: ["telegram"],
          ...fields,
        },
      }),
    contact: (tenantId, customerId, channelAccountId, externalId, timezone) =>
      t.db.contact.create({
        data: {
          tenantId,
          customerId,
          ...(timezone ? { timezone } : {}),
          identities: { create: [{ tenantId, channelAccountId, externalId }] },
        },
      }),
    async fire(tenantId, type, subject, data, occurredAt) {
      const eventId = `evt-${randomUUID()}`;
      await storeEvent(t.db, { tenantId, source: "webhook", eventId, type, subject, occurredAt, data });
      await settle();
      return (
        await t.db.orderEvent.findUniqueOrThrow({
          where: { tenantId_source_eventId: { tenantId, source: "webhook", eventId } },
        })
      ).id;
    },
    async jobs() {
      const { rows } = await t.pool.query<ScheduledJob>(
        `SELECT v.key, v.run_at, p.payload->>'notificationId' AS "notificationId"
         FROM graphile_worker.jobs v JOIN graphile_worker._private_jobs p USING (id)
         WHERE v.task_identifier = $1 ORDER BY v.run_at, v.id`,
        [SEND_SCHEDULED],
      );
      return rows;
    },
    handOver,
    async runDue(notificationId) {
      await handOver();
      await t.pool.query(
        `UPDATE graphile_worker._private_jobs SET run_at = now() WHERE payload->>'notificationId' = $1`,
        [notificationId],
      );
      await settle();
    },
    settle,
    async restart() {
      await runner.stop();
      runner = await start();
    },
    async stop() {
      await runner.stop();
      await t.drop();
    },
  };
}
