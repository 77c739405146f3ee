import type { Reply } from "@cb/core";
import { transaction, type Pool, type Sql } from "@cb/db";
import { eventParameters, withEvents, type NewEvent } from "@cb/event-webhooks";
import type { Exchange } from "@cb/fulfillment";
import {
  INSERT_REPLIES_FROM,
  replyValues,
  STORED_REPLY_COLUMNS,
  type OutboundTarget,
  type StoredReply,
} from "./outbound.ts";
import type { TurnOutcome, TurnRecord } from "./turn-record.ts";

// What a turn reads and writes, in plain SQL: a turn runs a handful of these per message, and each
// through Prisma would cost ten times the CPU (see Sql in @cb/db). Named, so each connection
// prepares them once instead of PostgreSQL parsing and planning them every turn.

export interface StoredInbound {
  id: string;
  channelAccountId: string;
  status: string;
  content: unknown;
  raw: unknown;
  conversation: {
    id: string;
    externalId: string;
    state: unknown;
    mode: string;
    handoffId: string | null;
    fallbackStreak: number;
  };
  tenant: {
    id: string;
    language: string;
    timezone: string;
    nluSettings: unknown;
    notificationSettings: unknown;
    handoffSettings: unknown;
    trainingRevision: string;
  };
  /** No earlier inbound message in its conversation (ties broken by id, so exactly one is first). */
  first: boolean;
  /** What an earlier run of the turn decided, when one got that far. */
  plan: TurnPlan | null;
  /**
   * Its conversation has follow-ups that this message, the customer writing, cancels
   * (cancelFollowupsOnReply): read with the message, so that the usual turn, with none, spends no
   * transaction on them.
   */
  cancelsFollowups: boolean;
}

/**
 * What a turn decided once its replies were chosen, stored with those replies (outbound rows
 * `<message id>:<n>`) in one transaction before any is sent: a retried job sends what is pending of
 * it and keeps the state decided then, without understanding or calling a backend again.
 */
export interface TurnPlan {
  outcome: TurnOutcome;
  /** The dialog state to keep (undefined: the conversation's stays as it is). */
  state?: unknown;
  /** The turn's events so far; message.sent / message.failed are added as replies go out. */
  events: NewEvent[];
}

const LOAD_INBOUND = `
SELECT m.id, m."channelAccountId", m.status, m.content, m.raw, m.plan,
  c.id AS "conversationId", c."externalId", c.state, c.mode, c."handoffId", c."fallbackStreak",
  t.id AS "tenantId", t.language, t.timezone, t."nluSettings", t."notificationSettings", t."handoffSettings",
  t."trainingRevision"::text AS "trainingRevision",
  NOT EXISTS (
    SELECT 1 FROM "Message" p WHERE p."conversationId" = m."conversationId" AND p.direction = 'in'
      AND (p."createdAt" < m."createdAt" OR (p."createdAt" = m."createdAt" AND p.id < m.id))
  ) AS first,
  EXISTS (
    SELECT 1 FROM "Notification" n WHERE n."conversationId" = m."conversationId" AND n.status = 'scheduled'
      AND n."cancelIfCustomerWrites" AND n."createdAt" < m."createdAt"
  ) AS "cancelsFollowups"
FROM "Message" m JOIN "Conversation" c ON c.id = m."conversationId" JOIN "Tenant" t ON t.id = m."tenantId"
WHERE m.id = $1::uuid AND m.direction = 'in'`;

export async function loadInbound(pool: Pool, messageId: string): Promise<StoredInbound | null> {
  const {
    rows: [row],
  } = await pool.query({ name: "turn-load-inbound", text: LOAD_INBOUND, values: [messageId] });
  if (!row) return null;
  return {
    id: row.id,
    channelAccountId: row.channelAccountId,
    status: row.status,
    content: row.content,
    raw: row.raw,
    conversation: {
      id: row.conversationId,
      externalId: row.externalId,
      state: row.state,
      mode: row.mode,
      handoffId: row.handoffId,
      fallbackStreak: row.fallbackStreak,
    },
    tenant: {
      id: row.tenantId,
      language: row.language,
      timezone: row.timezone,
      nluSettings: row.nluSettings,
      notificationSettings: row.notificationSettings,
      handoffSettings: row.handoffSettings,
      trainingRevision: row.trainingRevision,
    },
    first: row.first,
    plan: row.plan,
    cancelsFollowups: row.cancelsFollowups,
  };
}

// The plan and its replies' outbound rows in one statement: the update takes the message's row lock,
// so of two runs of one job (a worker declared dead while still running) the second waits, then
// finds the first's plan (or the turn processed) and stores nothing. The rows inserted come back,
// for sending without reading them again.
const SAVE_PLAN = `
WITH saved AS (
  UPDATE "Message" SET plan = $2::jsonb WHERE id = $1::uuid AND status <> 'processed' AND plan IS NULL RETURNING id
), replies AS (
  ${INSERT_REPLIES_FROM("$3", "$4", "$5", "$6", "$7")}
  WHERE EXISTS (SELECT 1 FROM saved)
  ON CONFLICT ("channelAccountId", direction, "dedupeKey") DO NOTHING
  RETURNING ${STORED_REPLY_COLUMNS}
)
SELECT EXISTS (SELECT 1 FROM saved) AS saved, (SELECT coalesce(json_agg(replies), '[]') FROM replies) AS replies`;

/** A turn's plan as stored, with the outbound rows stored with it (empty when another run stored them). */
export interface SavedPlan {
  plan: TurnPlan;
  replies: StoredReply[];
}

/**
 * Stores a turn's plan and its replies' outbound rows together (in one statement, or in the
 * caller's `also` transaction). When another run of the same job stored one first, that one stands
 * (its rows too) and is returned instead; null when that run has finished the turn.
 */
export async function savePlan(
  pool: Pool,
  turn: {
    messageId: string;
    plan: TurnPlan;
    target: OutboundTarget;
    replies: Reply[];
    /** More to write with a new plan, in its transaction (a follow-up to schedule). */
    also?: (sql: Sql) => Promise<unknown>;
  },
): Promise<SavedPlan | null> {
  const save = async (sql: Sql): Promise<SavedPlan | null> => {
    const {
      rows: [result],
    } = await sql.query<{ saved: boolean; replies: StoredReply[] }>({
      name: "turn-save-plan",
      text: SAVE_PLAN,
      values: [turn.messageId, JSON.stringify(turn.plan), ...replyValues(turn.target, turn.replies, turn.messageId)],
    });
    if (result!.saved) {
      await turn.also?.(sql);
      return { plan: turn.plan, replies: result!.replies };
    }
    // Another run's plan stands; its update has committed, as ours waited for its lock.
    const {
      rows: [row],
    } = await sql.query<{ plan: TurnPlan | null; status: string }>({
      name: "turn-stored-plan",
      text: `SELECT plan, status FROM "Message" WHERE id = $1::uuid`,
      values: [turn.messageId],
    });
    if (!row?.plan || row.status === "processed") return null;
    return { plan: row.plan, replies: [] };
  };
  return turn.also ? transaction(pool, save) : save(pool);
}

export interface IntentToFulfill {
  id: string;
  name: string;
  responses: unknown;
  action: string;
  parameters: { name: string; isList?: boolean }[];
  outputContexts: { name: string; lifespan: number }[];
  webhookForSlotFilling: boolean;
  /** Matching it hands the conversation over (handoff.ts). */
  handoff: boolean;
  isFallback: boolean;
  endpoint: { id: string; url: string; timeoutMs: number; secrets: string | null } | null;
}

const INTENT_COLUMNS = `i.id, i.name, i.responses, i.action, i.parameters, i."outputContexts", i."webhookForSlotFilling", i.handoff, i."isFallback",
  e.id AS "endpointId", e.url, e."timeoutMs", e.secrets`;
const INTENT_FROM = `"Intent" i LEFT JOIN "FulfillmentEndpoint" e ON e.id = i."fulfillmentEndpointId"`;

const FIND_INTENT = `SELECT ${INTENT_COLUMNS} FROM ${INTENT_FROM} WHERE i."tenantId" = $1::uuid AND i.name = $2`;

// Dialogflow: the intent that lists the event (names compared case-insensitively) and whose input
// contexts are all active, the one with the most of them first; none, and the fallback intent.
const FIND_INTENT_BY_EVENT = `
(SELECT ${INTENT_COLUMNS}, 0 AS rank, cardinality(i."inputContexts") AS specific FROM ${INTENT_FROM}
  WHERE i."tenantId" = $1::uuid AND i."inputContexts" <@ $3::text[]
    AND EXISTS (SELECT 1 FROM unnest(i.events) ev WHERE lower(ev) = lower($2)))
UNION ALL
(SELECT ${INTENT_COLUMNS}, 1, 0 FROM ${INTENT_FROM} WHERE i."tenantId" = $1::uuid AND i."isFallback")
ORDER BY rank, specific DESC, name LIMIT 1`;

type IntentRow = Omit<IntentToFulfill, "endpoint"> & {
  endpointId: string | null;
  url: string;
  timeoutMs: number;
  secrets: string | null;
};

function toIntent(row: IntentRow): IntentToFulfill {
  return {
    id: row.id,
    name: row.name,
    responses: row.responses,
    action: row.action,
    parameters: row.parameters,
    outputContexts: row.outputContexts,
    webhookForSlotFilling: row.webhookForSlotFilling,
    handoff: row.handoff,
    isFallback: row.isFallback,
    endpoint: row.endpointId
      ? { id: row.endpointId, url: row.url, timeoutMs: row.timeoutMs, secrets: row.secrets }
      : null,
  };
}

export async function findIntent(pool: Sql, tenantId: string, name: string): Promise<IntentToFulfill | null> {
  const {
    rows: [row],
  } = await pool.query<IntentRow>({ name: "turn-find-intent", text: FIND_INTENT, values: [tenantId, name] });
  return row ? toIntent(row) : null;
}

/** The intent an event triggers among those whose input contexts are `active`, else the fallback intent. */
export async function findIntentByEvent(
  pool: Sql,
  tenantId: string,
  event: string,
  active: string[],
): Promise<IntentToFulfill | null> {
  const {
    rows: [row],
  } = await pool.query<IntentRow>({
    name: "turn-find-intent-by-event",
    text: FIND_INTENT_BY_EVENT,
    values: [tenantId, event, active],
  });
  return row ? toIntent(row) : null;
}

export interface FulfillmentAttempt {
  /** The row's id, which the turn record's call names. */
  id: string;
  tenantId: string;
  messageId: string;
  endpointId: string;
  intent: string;
  ok: boolean;
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
  errorClass: string | null;
  exchange?: Exchange | undefined;
}

/** Every fulfillment attempt is kept at once, whatever becomes of the turn. */
export async function recordFulfillment(pool: Sql, a: FulfillmentAttempt): Promise<void> {
  await pool.query({
    name: "turn-record-fulfillment",
    text: `INSERT INTO "FulfillmentCall" (id, "tenantId", "messageId", "endpointId", intent, ok, "httpStatus", "latencyMs", error,
             "errorClass", "requestBody", "requestHeaders", "responseBody")
           VALUES ($13::uuid, $1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12)`,
    values: [
      a.tenantId,
      a.messageId,
      a.endpointId,
      a.intent,
      a.ok,
      a.httpStatus,
      a.latencyMs,
      a.error,
      a.errorClass,
      a.exchange?.requestBody ?? null,
      a.exchange ? JSON.stringify(a.exchange.requestHeaders) : null,
      a.exchange?.responseBody ?? null,
      a.id,
    ],
  });
}

// `waiting`: another message of the conversation waits for its turn (as of this statement), so that
// the job answering the conversation looks for it (drain.ts) only then.
const FINISH_TURN = withEvents(
  [
    `processed AS (UPDATE "Message" SET status = 'processed', turn = $8::jsonb, plan = NULL, "updatedAt" = now() WHERE id = $5::uuid)`,
    `dialog AS (UPDATE "Conversation" SET state = $7::jsonb WHERE id = $6::uuid AND $7::jsonb IS NOT NULL)`,
  ],
  {
    also: [
      `EXISTS (SELECT 1 FROM "Message" w WHERE w."conversationId" = $6::uuid AND w.direction = 'in' AND w.status = 'received' AND w.id <> $5::uuid) AS waiting`,
    ],
  },
);

/**
 * The turn's outcome (the message processed with its record, the dialog state) and its events in one
 * statement, so they commit together: an event exists exactly when what it reports does. Returns
 * whether another message of the conversation was waiting then.
 */
export async function finishTurn(
  pool: Pool,
  turn: {
    tenantId: string;
    messageId: string;
    conversationId: string;
    state?: unknown;
    events: NewEvent[];
    record: TurnRecord;
  },
): Promise<{ waiting: boolean }> {
  const { values } = eventParameters(turn.tenantId, turn.events);
  // No state (undefined) leaves the conversation's as it is.
  const state = JSON.stringify(turn.state) ?? null;
  const {
    rows: [row],
  } = await pool.query<{ waiting: boolean }>({
    name: "turn-finish",
    text: FINISH_TURN,
    values: [...values, turn.messageId, turn.conversationId, state, JSON.stringify(turn.record)],
  });
  return { waiting: row!.waiting };
}
